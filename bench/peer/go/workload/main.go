// The SeiNode-like job of the peer benchmark on Go's controller-runtime, written as its book
// would: every PeerNode (bench.sei.io/v1) gets a data PVC (created once), a StatefulSet and a
// headless Service (CreateOrUpdate), all owned by it, and status.phase Running once they exist.
//
// It prints "synced <unix nanoseconds> <CPU seconds so far>" on stdout once its caches have
// synced, so the driver (bench/peer/workload_run.py) can measure start-up; nothing else is added.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

var groupVersion = schema.GroupVersion{Group: "bench.sei.io", Version: "v1"}

type PeerNodeSpec struct {
	Image   string `json:"image"`
	Storage string `json:"storage"`
}

type PeerNodeStatus struct {
	Phase              string `json:"phase,omitempty"`
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
}

type PeerNode struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PeerNodeSpec   `json:"spec,omitempty"`
	Status            PeerNodeStatus `json:"status,omitempty"`
}

type PeerNodeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PeerNode `json:"items"`
}

// What controller-gen would generate.
func (in *PeerNode) DeepCopyInto(out *PeerNode) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
}

func (in *PeerNode) DeepCopyObject() runtime.Object {
	out := new(PeerNode)
	in.DeepCopyInto(out)
	return out
}

func (in *PeerNodeList) DeepCopyObject() runtime.Object {
	out := new(PeerNodeList)
	*out = *in
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]PeerNode, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

type PeerNodeReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

func (r *PeerNodeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var node PeerNode
	if err := r.Get(ctx, req.NamespacedName, &node); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	labels := map[string]string{"bench.sei.io/node": node.Name}

	var pvc corev1.PersistentVolumeClaim
	pvcKey := client.ObjectKey{Namespace: node.Namespace, Name: "data-" + node.Name}
	if err := r.Get(ctx, pvcKey, &pvc); apierrors.IsNotFound(err) {
		pvc = corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: pvcKey.Name, Namespace: pvcKey.Namespace, Labels: labels},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(node.Spec.Storage)},
				},
			},
		}
		if err := controllerutil.SetControllerReference(&node, &pvc, r.Scheme); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.Create(ctx, &pvc); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
	} else if err != nil {
		return ctrl.Result{}, err
	}

	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: node.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, sts, func() error {
		sts.Labels = labels
		sts.Spec.Replicas = ptr.To[int32](1)
		sts.Spec.ServiceName = node.Name
		if sts.Spec.Selector == nil { // immutable once created
			sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		}
		sts.Spec.Template.Labels = labels
		pod := &sts.Spec.Template.Spec
		if len(pod.Containers) == 0 {
			pod.Containers = []corev1.Container{{Name: "seid"}}
		}
		pod.Containers[0].Image = node.Spec.Image
		pod.Containers[0].Ports = []corev1.ContainerPort{
			{Name: "rpc", ContainerPort: 26657, Protocol: corev1.ProtocolTCP},
			{Name: "p2p", ContainerPort: 26656, Protocol: corev1.ProtocolTCP},
		}
		pod.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/sei"}}
		pod.Volumes = []corev1.Volume{{
			Name: "data",
			VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvcKey.Name},
			},
		}}
		return controllerutil.SetControllerReference(&node, sts, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, err
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: node.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, svc, func() error {
		svc.Labels = labels
		svc.Spec.ClusterIP = corev1.ClusterIPNone
		svc.Spec.Selector = labels
		svc.Spec.Ports = []corev1.ServicePort{
			{Name: "rpc", Port: 26657, TargetPort: intstr.FromInt32(26657), Protocol: corev1.ProtocolTCP},
			{Name: "p2p", Port: 26656, TargetPort: intstr.FromInt32(26656), Protocol: corev1.ProtocolTCP},
		}
		return controllerutil.SetControllerReference(&node, svc, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, err
	}

	if node.Status.Phase != "Running" || node.Status.ObservedGeneration != node.Generation {
		node.Status.Phase = "Running"
		node.Status.ObservedGeneration = node.Generation
		if err := r.Status().Update(ctx, &node); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

func main() {
	var namespace, metricsAddr string
	var workers int
	flag.StringVar(&namespace, "namespace", "", "the only namespace to watch")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "metrics address, 0 disables")
	flag.IntVar(&workers, "workers", 1, "max concurrent reconciles")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("workload")

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	scheme.AddKnownTypes(groupVersion, &PeerNode{}, &PeerNodeList{})
	metav1.AddToGroupVersion(scheme, groupVersion)

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:  scheme,
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Metrics: metricsserver.Options{BindAddress: metricsAddr},
	})
	if err != nil {
		log.Error(err, "unable to create manager")
		os.Exit(1)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&PeerNode{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Service{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(&PeerNodeReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme()})
	if err != nil {
		log.Error(err, "unable to create controller")
		os.Exit(1)
	}

	// The measurement hook: the informers the controller uses, created up front so that
	// WaitForCacheSync covers them, then one line when they have synced.
	ctx := ctrl.SetupSignalHandler()
	for _, obj := range []client.Object{
		&PeerNode{}, &corev1.PersistentVolumeClaim{}, &appsv1.StatefulSet{}, &corev1.Service{},
	} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			log.Error(err, "unable to get informer")
			os.Exit(1)
		}
	}
	err = mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			var usage syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
			cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
			fmt.Printf("synced %d %.3f\n", time.Now().UnixNano(), cpu.Seconds())
		}
		return nil
	}))
	if err != nil {
		log.Error(err, "unable to add the sync probe")
		os.Exit(1)
	}

	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

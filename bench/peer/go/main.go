// The peer benchmark's job on Go's controller-runtime, written as its book would: every
// ConfigMap is mirrored to a Secret of the same name that it owns; one worker.
//
// It prints "synced <unix nanoseconds> <CPU seconds so far>" on stdout once the ConfigMap and
// Secret caches have synced, so the driver (bench/peer/run.py) can measure start-up; nothing
// else is added.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

type MirrorReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

func (r *MirrorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cm corev1.ConfigMap
	if err := r.Get(ctx, req.NamespacedName, &cm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: cm.Name, Namespace: cm.Namespace}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, secret, func() error {
		data := make(map[string][]byte, len(cm.Data))
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		secret.Data = data
		return controllerutil.SetControllerReference(&cm, secret, r.Scheme)
	})
	return ctrl.Result{}, err
}

func main() {
	var namespace, metricsAddr string
	flag.StringVar(&namespace, "namespace", "", "the only namespace to watch")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "metrics address, 0 disables")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("mirror")

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Metrics: metricsserver.Options{BindAddress: metricsAddr},
	})
	if err != nil {
		log.Error(err, "unable to create manager")
		os.Exit(1)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&corev1.ConfigMap{}).
		Owns(&corev1.Secret{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(&MirrorReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme()})
	if err != nil {
		log.Error(err, "unable to create controller")
		os.Exit(1)
	}

	// The measurement hook: the informers the controller uses, created up front so that
	// WaitForCacheSync covers them, then one line when they have synced.
	ctx := ctrl.SetupSignalHandler()
	for _, obj := range []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}} {
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

//go:build tools

// Package tools pins the Kubernetes control-plane commands that envtest runs.
// It is never compiled into anything; `go build` of the listed packages is.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)

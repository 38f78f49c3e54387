//go:build tools

// Package tools pins the etcd server that envtest runs (the module's root package is `main`).
package tools

import _ "go.etcd.io/etcd/server/v3"

//go:build tools

// Package tools pins kwok, the fake kubelet that makes envtest's pods Running and Ready.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"

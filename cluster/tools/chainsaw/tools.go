//go:build tools

// Package tools pins the chainsaw this module builds.
package tools

import _ "github.com/kyverno/chainsaw"

//go:build tools

// Package tools pins the uptest this module builds.
package tools

import _ "github.com/crossplane/uptest/cmd/uptest"

//go:build tools

// Package tools pins the Crossplane core this module builds.
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crossplane"

//go:build tools

// Package tools pins the Crossplane CLI this module builds.
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crank"

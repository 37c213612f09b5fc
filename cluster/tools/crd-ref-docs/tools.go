//go:build tools

// Package tools pins the crd-ref-docs this module builds: make generate
// writes docs/reference from our API types with it.
package tools

import _ "github.com/elastic/crd-ref-docs"

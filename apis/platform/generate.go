// Package platform generates the MCPServer XRDs of configuration-mcp from the
// types in v1alpha1 (see hack/xrdgen).
package platform

//go:generate go tool controller-gen object:headerFile=../../hack/boilerplate.go.txt paths=./...
//go:generate go tool controller-gen crd:crdVersions=v1 paths=./... output:artifacts:config=../../_output/generate/platform
//go:generate go run ../../hack/xrdgen --crd ../../_output/generate/platform/platform.crossmcp.io_mcpservers.yaml --out ../../package/configuration

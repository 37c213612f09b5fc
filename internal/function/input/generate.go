// Package input generates the CRD of the function's input, which Crossplane
// packages ship so that Compositions can be validated against it.
package input

//go:generate go tool controller-gen object:headerFile=../../../hack/boilerplate.go.txt paths=./...
//go:generate go tool controller-gen crd:crdVersions=v1 paths=./... output:artifacts:config=../../../package/function/input

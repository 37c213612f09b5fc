// Package convert turns ToolHive operator objects into provider-mcp's: an
// MCPExternalAuthConfig into an ExternalAuthConfig, an MCPServer (with the
// MCPOIDCConfig it references) into an MCPServer. Other objects pass through
// as they are, so a file of ToolHive manifests converts as a whole.
package convert

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ToolHive's API group and the kinds we read.
const (
	Group                     = "toolhive.stacklok.dev"
	KindMCPExternalAuthConfig = "MCPExternalAuthConfig"
	KindMCPServer             = "MCPServer"
	KindMCPOIDCConfig         = "MCPOIDCConfig"
)

// annotations kubectl writes that must not follow an object to a new kind:
// the last applied configuration holds ToolHive's spec.
var dropAnnotations = map[string]bool{"kubectl.kubernetes.io/last-applied-configuration": true}

// A Note is about one object of the input: what of it was not carried over,
// or why it could not be converted.
type Note struct {
	// Object is the input object: Kind namespace/name.
	Object  string
	Message string
}

func (n Note) String() string { return n.Object + ": " + n.Message }

// Result of a conversion.
type Result struct {
	// Objects to apply, in the input's order.
	Objects []*unstructured.Unstructured
	// Notes say what was left out of the converted objects.
	Notes []Note
	// Errors are the ToolHive objects that were not converted at all.
	Errors []Note
}

// Convert converts the ToolHive objects among in. MCPOIDCConfigs are read by
// the MCPServers that reference them, in the same namespace, and not written.
func Convert(in []*unstructured.Unstructured) Result {
	oidc := map[string]*unstructured.Unstructured{}
	for _, o := range in {
		if isToolHive(o, KindMCPOIDCConfig) {
			oidc[o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	res := Result{}
	for _, o := range in {
		gvk := o.GroupVersionKind()
		if gvk.Group != Group {
			res.Objects = append(res.Objects, o)
			continue
		}
		var (
			out any
			r   = &reader{}
			id  = describe(o)
		)
		switch gvk.Kind {
		case KindMCPOIDCConfig:
			res.Notes = append(res.Notes, Note{Object: id, Message: "not written: the MCPServers that reference it carry its settings in spec.oidc"})
			continue
		case KindMCPExternalAuthConfig:
			out = externalAuthConfig(o, r)
		case KindMCPServer:
			out = mcpServer(o, r, oidc)
		default:
			res.Notes = append(res.Notes, Note{Object: id, Message: "not converted: provider-mcp has no counterpart of " + gvk.Kind})
			continue
		}
		if len(r.errs) > 0 {
			for _, e := range r.errs {
				res.Errors = append(res.Errors, Note{Object: id, Message: e})
			}
			continue
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(out)
		if err != nil {
			res.Errors = append(res.Errors, Note{Object: id, Message: err.Error()})
			continue
		}
		// Fields a new object does not have: the API server sets them.
		delete(u, "status")
		unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
		res.Objects = append(res.Objects, &unstructured.Unstructured{Object: u})
		for _, path := range r.unread() {
			res.Notes = append(res.Notes, Note{Object: id, Message: path + " is not carried over: " + whyNot(path)})
		}
		for _, n := range r.notes {
			res.Notes = append(res.Notes, Note{Object: id, Message: n})
		}
	}
	return res
}

func isToolHive(o *unstructured.Unstructured, kind string) bool {
	gvk := o.GroupVersionKind()
	return gvk.Group == Group && gvk.Kind == kind
}

func describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

// meta is what a converted object keeps of the input's metadata.
func meta(o *unstructured.Unstructured, gv schema.GroupVersion, kind string) (metav1.TypeMeta, metav1.ObjectMeta) {
	var ann map[string]string
	for k, v := range o.GetAnnotations() {
		if dropAnnotations[k] {
			continue
		}
		if ann == nil {
			ann = map[string]string{}
		}
		ann[k] = v
	}
	return metav1.TypeMeta{APIVersion: gv.String(), Kind: kind},
		metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Annotations: ann}
}

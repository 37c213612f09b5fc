package function

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/function-sdk-go/resource/composed"
)

// asComposed converts a rendered object for the response. The SDK's
// composed.From keeps zero scalars (replicas: 0, successThreshold: 0,
// paused: false) because its JSON library ignores omitempty on them; server-
// side apply would then claim every such field. The apimachinery converter
// honours omitempty; what it still emits for empty structs (status: {},
// strategy: {}) is pruned here. None of our objects uses an empty object as a
// value (as emptyDir: {} would), so pruning them loses nothing.
func asComposed(o runtime.Object) (*composed.Unstructured, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	delete(u, "status")
	prune(u)
	return &composed.Unstructured{Unstructured: unstructured.Unstructured{Object: u}}, nil
}

// prune removes nil values and empty objects, depth first.
func prune(m map[string]any) {
	for k, v := range m {
		switch vv := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			prune(vv)
			if len(vv) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range vv {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}

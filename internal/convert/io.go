package convert

import (
	"bufio"
	"bytes"
	"io"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	errRead      = "cannot read the input"
	errDocument  = "cannot parse document %d"
	errNoKind    = "document %d has no apiVersion and kind"
	errList      = "cannot read the items of the List in document %d"
	errMarshal   = "cannot write %s"
	errWriteYAML = "cannot write the output"
)

// Read parses a YAML (or JSON) stream of objects, as kubectl apply -f takes
// it. A List (kubectl get -o yaml) gives its items; empty documents are
// skipped.
func Read(r io.Reader) ([]*unstructured.Unstructured, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, errors.Wrap(err, errRead)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, errors.Wrapf(err, errDocument, i)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, errors.Wrapf(err, errDocument, i)
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, errors.Errorf(errNoKind, i)
		}
		if !u.IsList() {
			out = append(out, u)
			continue
		}
		l, err := u.ToList()
		if err != nil {
			return nil, errors.Wrapf(err, errList, i)
		}
		for k := range l.Items {
			out = append(out, &l.Items[k])
		}
	}
}

// Write writes objects as a YAML stream.
func Write(w io.Writer, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return errors.Wrapf(err, errMarshal, describe(o))
		}
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return errors.Wrap(err, errWriteYAML)
		}
		if _, err := w.Write(b); err != nil {
			return errors.Wrap(err, errWriteYAML)
		}
	}
	return nil
}

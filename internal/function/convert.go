package function

import (
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errNotObject   = "a rendered object is not a JSON object"
	errInvalidUTF8 = "invalid UTF-8 in a string or key"
	errReflect     = "cannot read a rendered object"
)

// A converter turns rendered objects into the Structs of the response in one
// pass: no unstructured map is built in between only to be copied into a
// Struct. The JSON view of the typed object (field names, omitempty and
// omitzero, inlined fields, json.Marshalers such as Quantity and Time) is
// structured-merge-diff's, the same the apimachinery unstructured converter
// uses.
//
// The SDK's composed.From is no option: it keeps zero scalars (replicas: 0,
// successThreshold: 0, paused: false) because its JSON library ignores
// omitempty on them, and server-side apply would then claim every such
// field. What omitempty cannot drop, null values and empty structs (status:
// {}, strategy: {}), is left out of objects here. None of our objects uses
// an empty object as a value (as emptyDir: {} would), so that loses nothing.
// Inside lists nothing is left out, so list lengths stay as they are.
//
// A converter is not safe for concurrent use.
type converter struct {
	a value.Allocator

	// fields is a stack of the fields of the objects being converted,
	// innermost last, so that each Struct's map is made at its final size.
	fields []structField
}

type structField struct {
	name  string
	value *structpb.Value
}

func newConverter() *converter {
	return &converter{a: value.NewFreelistAllocator()}
}

// Struct returns o as a Struct, without its status: rendered objects set
// none, and the empty status of their type is nothing to desire.
func (c *converter) Struct(o runtime.Object) (s *structpb.Struct, err error) {
	v, err := value.NewValueReflect(o)
	if err != nil {
		return nil, errors.Wrap(err, errReflect)
	}
	// structured-merge-diff panics where a json.Marshaler fails; a bad
	// object must be a fatal result, not a crashed function.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, errors.Errorf("%s: %v", errReflect, r)
		}
	}()
	if !v.IsMap() {
		return nil, errors.New(errNotObject)
	}
	m := v.AsMapUsing(c.a)
	defer c.a.Free(m)
	s, err = c.object(m, "status")
	if err != nil {
		return nil, err
	}
	if s == nil {
		s = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	return s, nil
}

// object converts a map or struct, leaving out the field skip, null values
// and empty objects. It returns nil for an object left empty.
func (c *converter) object(m value.Map, skip string) (*structpb.Struct, error) {
	start := len(c.fields)
	var err error
	m.IterateUsing(c.a, func(k string, v value.Value) bool {
		if k == skip || v.IsNull() {
			return true
		}
		if !utf8.ValidString(k) {
			err = errors.New(errInvalidUTF8)
			return false
		}
		var pv *structpb.Value
		if pv, err = c.value(v); err != nil {
			return false
		}
		if pv != nil {
			c.fields = append(c.fields, structField{name: k, value: pv})
		}
		return true
	})
	fields := c.fields[start:]
	defer func() {
		clear(fields)
		c.fields = c.fields[:start]
	}()
	if err != nil || len(fields) == 0 {
		return nil, err
	}
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(fields))}
	for _, f := range fields {
		s.Fields[f.name] = f.value
	}
	return s, nil
}

// value converts v. It returns nil for null and for an object left empty,
// which the enclosing object leaves out.
func (c *converter) value(v value.Value) (*structpb.Value, error) {
	switch {
	case v.IsNull():
		return nil, nil
	case v.IsMap():
		m := v.AsMapUsing(c.a)
		defer c.a.Free(m)
		s, err := c.object(m, "")
		if s == nil || err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case v.IsList():
		return c.list(v)
	case v.IsString():
		s := v.AsString()
		if !utf8.ValidString(s) {
			return nil, errors.New(errInvalidUTF8)
		}
		return structpb.NewStringValue(s), nil
	case v.IsInt():
		return structpb.NewNumberValue(float64(v.AsInt())), nil
	case v.IsFloat():
		return structpb.NewNumberValue(v.AsFloat()), nil
	case v.IsBool():
		return structpb.NewBoolValue(v.AsBool()), nil
	}
	return nil, errors.New(errReflect)
}

// list converts a list, keeping null elements and empty objects.
func (c *converter) list(v value.Value) (*structpb.Value, error) {
	l := v.AsListUsing(c.a)
	defer c.a.Free(l)
	vals := make([]*structpb.Value, l.Length())
	for i := range vals {
		e := l.AtUsing(c.a, i)
		pv, err := c.value(e)
		switch {
		case err != nil:
			c.a.Free(e)
			return nil, err
		case pv == nil && e.IsNull():
			pv = structpb.NewNullValue()
		case pv == nil:
			pv = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}})
		}
		c.a.Free(e)
		vals[i] = pv
	}
	return structpb.NewListValue(&structpb.ListValue{Values: vals}), nil
}

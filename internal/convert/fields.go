package convert

import (
	"fmt"
	"sort"
	"strings"
)

// reader reads one ToolHive object: the errors it met and every map it
// opened, so that the keys nothing read can be reported as not carried over.
type reader struct {
	errs  []string
	notes []string
	all   []*fields
}

func (r *reader) open(path string, m map[string]any) *fields {
	f := &fields{path: path, m: m, read: map[string]bool{}, r: r}
	r.all = append(r.all, f)
	return f
}

// unread are the paths of the keys nothing read, in the order read.
func (r *reader) unread() []string {
	var out []string
	for _, f := range r.all {
		out = append(out, f.unread()...)
	}
	return out
}

// fields is one map of a ToolHive object, read key by key.
type fields struct {
	path string
	m    map[string]any
	read map[string]bool
	r    *reader
}

// value is the first of keys that is set (ToolHive's older snake_case names
// are aliases of today's), or nil.
func (f *fields) value(keys ...string) (string, any) {
	for _, k := range keys {
		f.read[k] = true
	}
	for _, k := range keys {
		if v, ok := f.m[k]; ok && v != nil {
			return k, v
		}
	}
	return "", nil
}

func (f *fields) fail(key, format string, args ...any) {
	f.r.errs = append(f.r.errs, fmt.Sprintf("%s.%s: %s", f.path, key, fmt.Sprintf(format, args...)))
}

func (f *fields) str(keys ...string) string {
	k, v := f.value(keys...)
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.fail(k, "want a string, got %T", v)
	}
	return s
}

func (f *fields) boolean(keys ...string) bool {
	k, v := f.value(keys...)
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		f.fail(k, "want true or false, got %T", v)
	}
	return b
}

func (f *fields) int32(keys ...string) int32 {
	k, v := f.value(keys...)
	switch n := v.(type) {
	case nil:
		return 0
	case int64:
		return int32(n) //nolint:gosec // ports: the schema bounds them.
	case float64:
		return int32(n)
	default:
		f.fail(k, "want a number, got %T", v)
		return 0
	}
}

// strings reads a list of strings; a single string is split on spaces, as
// ToolHive's older scope field was written.
func (f *fields) strings(keys ...string) []string {
	k, v := f.value(keys...)
	switch l := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(l)
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				f.fail(k, "want a list of strings, got a %T in it", e)
				continue
			}
			out = append(out, s)
		}
		return out
	default:
		f.fail(k, "want a list of strings, got %T", v)
		return nil
	}
}

// object is the nested map under keys, or nil when none is set.
func (f *fields) object(keys ...string) *fields {
	k, v := f.value(keys...)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		f.fail(k, "want an object, got %T", v)
		return nil
	}
	return f.r.open(f.path+"."+k, m)
}

// list is the list of objects under keys.
func (f *fields) list(keys ...string) []*fields {
	k, v := f.value(keys...)
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		f.fail(k, "want a list, got %T", v)
		return nil
	}
	out := make([]*fields, 0, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			f.fail(fmt.Sprintf("%s[%d]", k, i), "want an object, got %T", e)
			continue
		}
		out = append(out, f.r.open(fmt.Sprintf("%s.%s[%d]", f.path, k, i), m))
	}
	return out
}

// unread are the paths of this map's keys nothing read, sorted.
func (f *fields) unread() []string {
	var out []string
	for k := range f.m {
		if !f.read[k] {
			out = append(out, f.path+"."+k)
		}
	}
	sort.Strings(out)
	return out
}

// Command crossmcp is provider-mcp's command for users. convert turns
// ToolHive operator manifests into provider-mcp's.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossmcp/provider-mcp/internal/convert"
)

type cli struct {
	Convert convertCmd `cmd:"" help:"Convert ToolHive MCPExternalAuthConfigs and MCPServers (with the MCPOIDCConfigs they reference) into provider-mcp's ExternalAuthConfigs and MCPServers."`
}

type convertCmd struct {
	Files []string `short:"f" name:"filename" type:"existingfile" help:"Files of ToolHive manifests (kubectl get -o yaml output too); standard input when none."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c, kong.Name("crossmcp"), kong.Description("provider-mcp's command for users."))
	kctx.FatalIfErrorf(kctx.Run())
}

// errUnconverted ends a run some objects of which could not be converted.
var errUnconverted = errors.New("some ToolHive objects were not converted: see above")

// Run writes the converted objects to standard output and the notes to
// standard error; it fails when an object could not be converted, after
// writing the others.
func (c *convertCmd) Run() error {
	in, err := read(c.Files, os.Stdin)
	if err != nil {
		return err
	}
	res := convert.Convert(in)
	if err := convert.Write(os.Stdout, res.Objects); err != nil {
		return err
	}
	return report(os.Stderr, res)
}

func read(files []string, stdin io.Reader) ([]*unstructured.Unstructured, error) {
	if len(files) == 0 {
		return convert.Read(stdin)
	}
	var all []*unstructured.Unstructured
	for _, f := range files {
		r, err := os.Open(f) //nolint:gosec // the user's own file.
		if err != nil {
			return nil, errors.Wrap(err, "cannot open input")
		}
		objs, err := convert.Read(r)
		_ = r.Close()
		if err != nil {
			return nil, errors.Wrap(err, f)
		}
		all = append(all, objs...)
	}
	return all, nil
}

func report(w io.Writer, res convert.Result) error {
	for _, n := range res.Notes {
		_, _ = fmt.Fprintln(w, "note:", n)
	}
	for _, e := range res.Errors {
		_, _ = fmt.Fprintln(w, "error:", e)
	}
	if len(res.Errors) > 0 {
		return errUnconverted
	}
	return nil
}

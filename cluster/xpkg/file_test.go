package xpkg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestFile(t *testing.T) {
	type want struct {
		file, name, version string
		ok                  bool
	}
	arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
	cases := map[string]struct {
		reason   string
		pk       Package
		version  string
		platform *v1.Platform
		want     want
	}{
		"Configuration": {
			reason:  "A package without a binary has one file.",
			pk:      Configuration,
			version: "v0.1.0",
			want:    want{file: "out/configuration-mcp-v0.1.0.xpkg", name: "configuration-mcp", version: "v0.1.0", ok: true},
		},
		"Platform": {
			reason:   "A package with a binary has a file per platform.",
			pk:       Function,
			version:  "v0.1.7",
			platform: arm,
			want:     want{file: "out/function-mcp-server-v0.1.7-linux-arm64.xpkg", name: "function-mcp-server", version: "v0.1.7", ok: true},
		},
		"Prerelease": {
			reason:   "make publish's version before the first tag is a prerelease.",
			pk:       Provider,
			version:  "v0.1.0-dev.g5ca3f57ab12c",
			platform: arm,
			want:     want{file: "out/provider-mcp-v0.1.0-dev.g5ca3f57ab12c-linux-arm64.xpkg", name: "provider-mcp", version: "v0.1.0-dev.g5ca3f57ab12c", ok: true},
		},
		"Describe": {
			reason:  "git describe's version after a tag has hyphens in its prerelease.",
			pk:      Configuration,
			version: "v0.3.0-5-g5ca3f57ab12c",
			want:    want{file: "out/configuration-mcp-v0.3.0-5-g5ca3f57ab12c.xpkg", name: "configuration-mcp", version: "v0.3.0-5-g5ca3f57ab12c", ok: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := Builder{Out: "out", Version: tc.version}.File(tc.pk, tc.platform)
			n, v, ok := ParseFile(file)
			if diff := cmp.Diff(tc.want, want{file: file, name: n, version: v, ok: ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nFile and ParseFile: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	if _, _, ok := ParseFile("notes.txt"); ok {
		t.Error("ParseFile took a file that is no package")
	}
}

package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-05T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build information", "", nil, Info{Version: "dev"}},
		{"stamped version wins over the module's", "v1.4.0",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			Info{Version: "v1.4.0", GoVersion: "go1.26.8"}},
		{"go install …@version", "dev",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			Info{Version: "v1.3.0", GoVersion: "go1.26.8"}},
		{"a checkout build", "dev",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: "dev", GoVersion: "go1.26.8", Commit: "0123456789abcdef0123456789abcdef01234567",
				BuildTime: "2026-12-05T10:00:00Z", Modified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.version, tt.bi)
			if tt.bi == nil {
				tt.want.GoVersion = got.GoVersion // runtime.Version(), whatever built the test
				if got.GoVersion == "" {
					t.Error("no Go version")
				}
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestShort(t *testing.T) {
	i := Info{Version: "v1.4.0", Commit: "0123456789abcdef", BuildTime: "2026-12-05T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}
	got := i.Short()
	for _, want := range []string{"v1.4.0", "commit 0123456789ab+changes", "2026-12-05T10:00:00Z", "go1.26.8"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if got := (Info{Version: "dev", GoVersion: "go1.26.8"}).Short(); got != "dev (go1.26.8)" {
		t.Errorf("bare: %q", got)
	}
}

// TestReadSeesThisBinary: the test binary is built by the go command, which
// records the Go version; Read must report it.
func TestReadSeesThisBinary(t *testing.T) {
	if i := Read(""); i.Version == "" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Errorf("%+v", i)
	}
}

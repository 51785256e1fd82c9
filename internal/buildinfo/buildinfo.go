// Package buildinfo says which keyshift is running: the version, the commit
// and its time, and the Go that built it. `keyshift version`, /healthz and
// the keyshift_build_info metric all print the same Info, so an operator
// comparing nodes during a rolling upgrade reads one truth.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info describes one build. Fields the build did not record are empty
// (a `go run` or a build outside a git checkout has no commit).
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// BuildTime is the commit's time (vcs.time): Go records no wall-clock
	// build time, so that builds are reproducible.
	BuildTime string `json:"buildTime,omitempty"`
	// Modified reports whether the checkout had uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Read returns the running binary's Info. version is the one stamped with
// -ldflags "-X main.Version=…"; when it is empty or "dev", the module's
// version from the build is used if it has one (go install …@v1.2.3),
// else "dev".
func Read(version string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return resolve(version, nil)
	}
	return resolve(version, bi)
}

// resolve is Read over given build information, for tests.
func resolve(version string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	if bi == nil {
		if info.Version == "" {
			info.Version = "dev"
		}
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if info.Version == "" || info.Version == "dev" {
		info.Version = "dev"
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.BuildTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// Short is the one-line form: "v1.2.3 (commit 0123456789ab, committed
// 2026-12-05T10:00:00Z, go1.26.8)". The build time Go records is the
// commit's time, which makes builds reproducible.
func (i Info) Short() string {
	s := i.Version + " ("
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "+changes"
		}
		s += "commit " + c + ", "
	}
	if i.BuildTime != "" {
		s += "committed " + i.BuildTime + ", "
	}
	return s + i.GoVersion + ")"
}

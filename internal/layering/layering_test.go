// Package layering holds the test that keeps keyshift's dependencies pointing
// one way (docs/architecture.md, "Dependencies"):
//
//	cmd → server → web → domain packages
//
// and store implements the domain's interfaces beside web, importing neither
// web nor what sits above it. No domain package imports web, store, server or
// cmd, so the rules of the product live where no HTTP handler or SQL query can
// be the only place that keeps them.
//
// Only what a package's own code imports counts: tests may reach across
// layers (a domain package's tests run against the real store, a store test
// may build a whole server).
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type layer string

const (
	cmd    layer = "cmd"
	server layer = "server"
	web    layer = "web"
	store  layer = "store"
	domain layer = "domain"
)

// forbidden lists, for each layer, the layers its code must not import. A
// layer absent here (cmd) may import every other.
var forbidden = map[layer][]layer{
	server: {cmd},
	web:    {cmd, server, store},
	store:  {cmd, server, web},
	domain: {cmd, server, web, store},
}

// layerOf places a package, named by its path inside the module, in its
// layer: a directory's subpackages (web/browsertest, server/servertest) share
// its layer, and every other package under internal/ is the domain's.
func layerOf(rel string) layer {
	under := func(dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }
	switch {
	case under("cmd"):
		return cmd
	case under("internal/server"):
		return server
	case under("internal/web"):
		return web
	case under("internal/store"):
		return store
	default:
		return domain
	}
}

// pkg is what the rule reads of one `go list -json` entry.
type pkg struct {
	ImportPath string
	Imports    []string
	Module     *struct{ Path string }
}

// violations names every import that breaks the rule, as "a (layer) imports
// b (layer)", in the order go list gave the packages.
func violations(module string, pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		fl := layerOf(from)
		for _, imp := range p.Imports {
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if tl := layerOf(to); slices.Contains(forbidden[fl], tl) {
				bad = append(bad, from+" ("+string(fl)+") imports "+to+" ("+string(tl)+")")
			}
		}
	}
	return bad
}

// listPackages runs `go list -json ./...` at the module's root.
func listPackages(t *testing.T) (module string, pkgs []pkg) {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	c := exec.Command("go", "list", "-json=ImportPath,Imports,Module", "./...")
	c.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list's output: %v", err)
		}
		if p.Module != nil {
			module = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	return module, pkgs
}

func TestDependenciesPointOneWay(t *testing.T) {
	module, pkgs := listPackages(t)
	if module == "" {
		t.Fatal("go list named no module")
	}
	// The rule passes trivially over the wrong tree: every layer must be there.
	seen := map[layer]int{}
	for _, p := range pkgs {
		if rel, ok := strings.CutPrefix(p.ImportPath, module+"/"); ok {
			seen[layerOf(rel)]++
		}
	}
	for _, l := range []layer{cmd, server, web, store, domain} {
		if seen[l] == 0 {
			t.Errorf("go list found no package in layer %s (found %v)", l, seen)
		}
	}
	if seen[domain] < 10 {
		t.Errorf("go list found only %d domain packages", seen[domain])
	}
	for _, v := range violations(module, pkgs) {
		t.Errorf("dependency against the rule: %s", v)
	}
}

// The check itself, on made-up packages: each forbidden edge is reported,
// each allowed one is not, and packages outside the module are ignored.
func TestDependencyRuleCatchesEachForbiddenEdge(t *testing.T) {
	const m = "example.com/ks"
	p := func(from string, imports ...string) pkg {
		full := make([]string, len(imports))
		for i, imp := range imports {
			full[i] = m + "/" + imp
		}
		return pkg{ImportPath: m + "/" + from, Imports: append(full, "fmt", "other.org/"+from)}
	}
	allowed := []pkg{
		p("cmd/ks", "internal/server", "internal/store", "internal/web", "internal/account"),
		p("internal/server", "internal/web", "internal/store", "internal/passkey"),
		p("internal/server/servertest", "internal/server"),
		p("internal/web", "internal/account", "internal/email/signin"),
		p("internal/web/browsertest"),
		p("internal/store", "internal/account", "internal/config"),
		p("internal/account", "internal/password", "internal/throttle"),
	}
	if got := violations(m, allowed); len(got) != 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
	for _, tc := range []struct {
		p    pkg
		want string
	}{
		{p("internal/account", "internal/store"), "internal/account (domain) imports internal/store (store)"},
		{p("internal/email/signin", "internal/web"), "internal/email/signin (domain) imports internal/web (web)"},
		{p("internal/passkey", "internal/web/browsertest"), "internal/passkey (domain) imports internal/web/browsertest (web)"},
		{p("internal/rollout", "internal/server/servertest"), "internal/rollout (domain) imports internal/server/servertest (server)"},
		{p("internal/testdb", "cmd/keyshift"), "internal/testdb (domain) imports cmd/keyshift (cmd)"},
		{p("internal/store", "internal/web"), "internal/store (store) imports internal/web (web)"},
		{p("internal/store", "internal/server"), "internal/store (store) imports internal/server (server)"},
		{p("internal/web", "internal/store"), "internal/web (web) imports internal/store (store)"},
		{p("internal/web", "internal/server"), "internal/web (web) imports internal/server (server)"},
		{p("internal/server", "cmd/keyshift"), "internal/server (server) imports cmd/keyshift (cmd)"},
		// A name that only begins like a layer's directory is not in it.
		{p("internal/webhooks", "internal/storefront", "internal/store"), "internal/webhooks (domain) imports internal/store (store)"},
	} {
		got := violations(m, []pkg{tc.p})
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("violations(%s → %v) = %q, want [%q]", tc.p.ImportPath, tc.p.Imports, got, tc.want)
		}
	}
}

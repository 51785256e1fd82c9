package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestContainerImage builds the image with scripts/image (podman, which
// scripts/test installs, or docker) and checks what the operations docs
// promise: built with no registry (the base is scratch, --pull=never), run
// as a numeric non-root user, nothing in it but the binary, CA certificates
// and passwd/group (and the /data volume's directory), under 40 MB, with
// the entrypoint, command, listen address, health check and OCI labels set.
// Starting a container needs cgroups and rlimits a build machine may not
// grant; when the runtime refuses, the test says so and checks the rest.
func TestContainerImage(t *testing.T) {
	if os.Getenv("KEYSHIFT_TEST_IMAGE") == "0" {
		t.Skip("KEYSHIFT_TEST_IMAGE=0")
	}
	tool := ""
	for _, c := range []string{"podman", "docker"} {
		if _, err := exec.LookPath(c); err == nil {
			tool = c
			break
		}
	}
	if tool == "" {
		t.Skip("neither podman nor docker is installed (scripts/test installs podman)")
	}
	tag := fmt.Sprintf("localhost/keyshift-test:%d", time.Now().UnixNano())
	build := exec.Command(filepath.Join("..", "..", "scripts", "image"), tag)
	build.Env = append(os.Environ(), "CONTAINER_TOOL="+tool, "KEYSHIFT_VERSION=v0.0.0-test")
	out, err := build.CombinedOutput()
	if err != nil {
		if tool == "docker" && strings.Contains(string(out), "Cannot connect to the Docker daemon") {
			t.Skip("docker is installed but its daemon is not running")
		}
		t.Fatalf("scripts/image: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(tool, "rmi", "-f", tag).Run() })

	raw, err := exec.Command(tool, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	var inspected []struct {
		Size int64
		// Healthcheck: podman shows it here, docker under Config.
		Healthcheck *struct{ Test []string }
		Config      struct {
			User        string
			Env         []string
			Entrypoint  []string
			Cmd         []string
			Labels      map[string]string
			Volumes     map[string]any
			Healthcheck *struct{ Test []string }
		}
	}
	if err := json.Unmarshal(raw, &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("inspect: %v\n%s", err, raw)
	}
	img := inspected[0]
	if img.Config.User != "65532:65532" {
		t.Errorf("user %q, want the numeric non-root 65532:65532", img.Config.User)
	}
	if img.Size <= 0 || img.Size >= 40<<20 {
		t.Errorf("image size %d bytes, want under 40 MB", img.Size)
	}
	if !slices.Equal(img.Config.Entrypoint, []string{"keyshift"}) || !slices.Equal(img.Config.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q, cmd %q", img.Config.Entrypoint, img.Config.Cmd)
	}
	if !slices.Contains(img.Config.Env, "KEYSHIFT_LISTEN=0.0.0.0:8080") {
		t.Errorf("env %q lacks KEYSHIFT_LISTEN=0.0.0.0:8080", img.Config.Env)
	}
	if _, ok := img.Config.Volumes["/data"]; !ok {
		t.Errorf("volumes %v lack /data", img.Config.Volumes)
	}
	hc := img.Config.Healthcheck
	if hc == nil {
		hc = img.Healthcheck
	}
	if hc == nil || !slices.Equal(hc.Test, []string{"CMD", "keyshift", "healthcheck"}) {
		t.Errorf("health check %+v", hc)
	}
	for _, l := range []string{"source", "version", "revision", "licenses"} {
		if img.Config.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("no org.opencontainers.image.%s label: %v", l, img.Config.Labels)
		}
	}
	if v := img.Config.Labels["org.opencontainers.image.version"]; v != "v0.0.0-test" {
		t.Errorf("version label %q", v)
	}

	// Its files: create a container (nothing runs) and list its export.
	id, err := exec.Command(tool, "create", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	cid := strings.TrimSpace(string(id))
	t.Cleanup(func() { exec.Command(tool, "rm", "-f", cid).Run() })
	export := exec.Command(tool, "export", cid)
	pipe, err := export.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := export.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"usr/local/bin/keyshift": true, "etc/ssl/certs/ca-certificates.crt": true,
		"etc/passwd": true, "etc/group": true}
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeDir {
			continue // data/, and the directories of the files below
		}
		if !want[name] {
			t.Errorf("unexpected file in the image: %s", name)
		}
		delete(want, name)
		if name == "etc/passwd" {
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), "keyshift:x:65532:65532:") {
				t.Errorf("passwd does not name user 65532:\n%s", b)
			}
		}
	}
	if err := export.Wait(); err != nil {
		t.Fatal(err)
	}
	for name := range want {
		t.Errorf("missing from the image: %s", name)
	}

	// Running it, where the machine allows.
	run, err := exec.Command(tool, "run", "--rm", tag, "version").CombinedOutput()
	switch {
	case err != nil && strings.Contains(string(run), "OCI permission denied"), err != nil && strings.Contains(string(run), "cgroup"):
		t.Logf("this machine cannot start containers (checked everything but running): %s", lastLine(run))
	case err != nil:
		t.Errorf("%s run … version: %v\n%s", tool, err, run)
	case !strings.Contains(string(run), "keyshift v0.0.0-test"):
		t.Errorf("version in the container: %s", run)
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/config"
)

// Version is set at build time with -ldflags "-X main.Version=…"; without
// it the module's version (go install …@v1.2.3) or "dev" is reported.
var Version = "dev"

// build is what this binary knows of itself.
func build() buildinfo.Info { return buildinfo.Read(Version) }

func versionCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "version", "version [--json]")
	asJSON := fs.Bool("json", false, "print version, commit, build time and Go version as JSON")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	info := build()
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(e.Stdout, "keyshift %s\n", info.Short())
	return nil
}

// healthcheckCmd asks the keyshift configured here (the same file and
// variables as serve) for GET /readyz on its listen address. A wildcard
// listen address (0.0.0.0, ::, or none) is asked on loopback, as a
// container's health check runs inside the container.
func healthcheckCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "healthcheck", "healthcheck [--config FILE] [--timeout 5s]")
	cfgPath := cli.ConfigFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.Getenv)
	if err != nil {
		return err
	}
	url, err := readyURL(cfg.Listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not answering: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	fmt.Fprintf(e.Stdout, "ready (%s)\n", url)
	return nil
}

// readyURL is the /readyz address to ask for a server listening on listen.
func readyURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q (KEYSHIFT_LISTEN): %w", listen, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

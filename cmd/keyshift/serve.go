package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server"
)

func serveCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "serve", "serve [--config FILE] [--dev]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it; see docs/configuration.md)")
	dev := fs.Bool("dev", false, "development mode, as KEYSHIFT_DEV=true: without SMTP, mail is kept for /dev/mail. Never in production")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	getenv := e.Getenv
	if *dev {
		getenv = func(k string) string {
			if k == "KEYSHIFT_DEV" {
				return "true"
			}
			return e.Getenv(k)
		}
	}
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, e.Stderr)
	for _, w := range config.UnknownVariables(variableNames(e)) {
		log.Warn(w)
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w.String())
	}
	s, err := server.New(ctx, cfg, server.Options{Log: log, Build: build()})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen (KEYSHIFT_LISTEN): %w", err)
	}
	ready := []any{"origin", cfg.Origin, "listen", ln.Addr().String(), "database", s.DB.Dialect(),
		"rp_id", cfg.RPID, "mail", cfg.MailTransport(), "version", build().Short()}
	if a := s.MetricsAddr(); a != nil {
		ready = append(ready, "metrics_listen", a.String())
	}
	log.Info("keyshift is ready", ready...)
	checked := logHighFindings(ctx, log, cfg)
	defer checked()
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// variableNames returns the names of the process's environment variables
// that getenv also sees (tests give run a getenv of their own).
func variableNames(e *cli.Env) []string {
	var names []string
	for _, kv := range e.Environ() {
		if name, _, _ := strings.Cut(kv, "="); e.Getenv(name) != "" {
			names = append(names, name)
		}
	}
	return names
}

// newLogger builds the structured logger: JSON when stderr is not a
// terminal (log collectors parse it), text for a person at a terminal.
func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == "auto" || format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

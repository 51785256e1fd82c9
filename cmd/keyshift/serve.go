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

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server"
)

func serveCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [--config FILE]")
	cfgPath := fs.String("config", "", "YAML configuration `file` (KEYSHIFT_* variables override it; see docs/configuration.md)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, e.getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, e.stderr)
	s, err := server.New(ctx, cfg, server.Options{Log: log})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen (KEYSHIFT_LISTEN): %w", err)
	}
	log.Info("keyshift is ready", "origin", cfg.Origin, "listen", ln.Addr().String(), "database", s.DB.Dialect(),
		"rp_id", cfg.RPID, "version", Version)
	if len(cfg.SMTPURLs) == 0 {
		log.Info("no SMTP configured: mail is kept by the dev mailer")
	}
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
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

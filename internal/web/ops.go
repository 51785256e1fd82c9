package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// healthz answers while the process runs, with the running build, so that
// an operator (or a probe) comparing nodes in a rolling upgrade reads which
// one runs what: the same fields as `keyshift version --json`.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		buildinfo.Info
	}{"ok", s.build})
}

// readyz answers 200 when the database answers and no migration this
// binary knows is pending. A schema newer than the binary stays ready: in a
// rolling upgrade the new binary migrates first (docs/operations.md), and
// the older nodes still running must not all leave the load balancer at
// once; the migration policy keeps them correct on it. Starting on such a
// schema is refused (serve's CheckSchema).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	err := s.health.Ping(ctx)
	if err == nil {
		err = s.health.CheckReady(ctx)
	}
	if err != nil {
		// The reason names the database's user, name and address: the log
		// only, never the answer (docs/security.md, T22).
		s.log.WarnContext(ctx, "not ready", "err", err)
		respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

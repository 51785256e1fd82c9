package web

import (
	"encoding/json"
	"net/http"
)

// relatedOriginsPath is where a browser looks for the origins that may use
// passkeys of an RP ID they are not under: https://<rp_id>/.well-known/webauthn
// (WebAuthn Level 3 §5.11, related origin requests).
const relatedOriginsPath = "/.well-known/webauthn"

// relatedOrigins is GET /.well-known/webauthn: {"origins": [origin,
// ...origins]}, the primary first, because a browser reads only the first
// few site names (docs/configuration.md, "Related origins"). It is public
// and changes only with the configuration, so it may be cached.
func (s *Server) relatedOrigins() http.Handler {
	// A list of strings always encodes.
	body, _ := json.Marshal(struct {
		Origins []string `json:"origins"`
	}{s.cfg.AllOrigins()})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	})
}

package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/web/clientip"
)

// clientIP returns the address of the client (clientip.Of); a hop that is
// no address is logged once per process.
func (s *Server) clientIP(r *http.Request) string {
	ip, badHopFrom := clientip.Of(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)
	if badHopFrom != "" {
		s.badHop.Do(func() {
			s.log.Warn("X-Forwarded-For from a trusted proxy holds a hop that is not an address; such clients are keyed by its text",
				"hop", ip, "proxy", badHopFrom)
		})
	}
	return ip
}

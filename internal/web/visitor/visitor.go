// Package visitor knows who a request comes from and keeps what keyshift
// stores in their browser: the session, device, remember and return
// cookies, read and set the same way by every feature — every sign-in,
// whichever way, ends in SetSession.
package visitor

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/returnto"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/web/clientip"
	"github.com/keyshift/keyshift/internal/web/cookie"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// Cookies reads and sets a visitor's cookies, and proves their session.
type Cookies struct {
	cfg      config.Config
	sessions *session.Service
	rollout  *rollout.Service // the remember cookie's passkey-first step
	cookies  cookie.Signer
	returns  *returnto.Policy
	log      *slog.Logger
	now      func() time.Time // the server's clock: telemetry times a request by it
	badHop   sync.Once        // logs the first X-Forwarded-For hop that is no address (ClientIP)
}

// New returns the Cookies of cfg's origin: sessions proves session
// cookies, deviceKey signs device and remember cookies, and ro says
// whether /signin leads with the passkey (the remember cookie); now is the
// server's clock.
func New(cfg config.Config, sessions *session.Service, ro *rollout.Service, deviceKey []byte, log *slog.Logger, now func() time.Time) (*Cookies, error) {
	returns, err := returnto.New(cfg.Origin, cfg.AllowedReturnOrigins)
	if err != nil {
		return nil, err
	}
	return &Cookies{cfg: cfg, sessions: sessions, rollout: ro, cookies: cookie.NewSigner(deviceKey), returns: returns, log: log, now: now}, nil
}

// Authenticate returns the session of the request or EUnauthenticated.
func (v *Cookies) Authenticate(r *http.Request) (*account.SessionWithUser, error) {
	return v.sessions.Authenticate(r.Context(), v.sessionToken(r))
}

// PageSession returns the session of a page's request; without one, the
// adapter sends the visitor to /signin.
func (v *Cookies) PageSession(r *http.Request) (*account.SessionWithUser, error) {
	sw, err := v.Authenticate(r)
	if account.IsCode(err, account.EUnauthenticated) {
		return nil, respond.ErrSigninFirst
	}
	return sw, err
}

// Client describes the requester for the account service. Header values are
// bytes, not text: a User-Agent that is not UTF-8 is repaired here, or
// PostgreSQL would refuse the session and event rows that record it.
func (v *Cookies) Client(r *http.Request) account.Client {
	ua := strings.ToValidUTF8(r.UserAgent(), "\uFFFD")
	return account.Client{IP: v.ClientIP(r), UserAgent: ua, Device: v.readDevice(r),
		SigninMs: signinMs(r), Began: v.now()}
}

// SigninMsHeader carries the page's own time to sign in (page load to the
// finishing request, in whole milliseconds) on the requests that finish a
// sign-in: one header for every method, read here, so no handler decodes it.
// Telemetry bounds it (telemetry.ClientMs); anything unparsable is none.
const SigninMsHeader = "Keyshift-Signin-Ms"

// signinMsField is the same for the sign-in forms.
const signinMsField = "signin_ms"

func signinMs(r *http.Request) int {
	v := r.Header.Get(SigninMsHeader)
	if v == "" && r.PostForm != nil {
		// A sign-in form sends it as a field (the page's script adds it);
		// read only when the handler has parsed the form already.
		v = r.PostForm.Get(signinMsField)
	}
	if v == "" || len(v) > 9 {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}

// ClientIP returns the address of the Client (clientip.Of); a hop that is
// no address is logged once per process.
func (v *Cookies) ClientIP(r *http.Request) string {
	ip, badHopFrom := clientip.Of(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), v.cfg.TrustedProxies)
	if badHopFrom != "" {
		v.badHop.Do(func() {
			v.log.Warn("X-Forwarded-For from a trusted proxy holds a hop that is not an address; such clients are keyed by its text",
				"hop", ip, "proxy", badHopFrom)
		})
	}
	return ip
}

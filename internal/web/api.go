package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/session"
)

// userJSON is API.md's User.
type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"emailVerified"`
	HasPassword   bool   `json:"hasPassword"`
	PasskeyCount  int    `json:"passkeyCount"`
}

func toUserJSON(u account.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.HasPassword, PasskeyCount: u.PasskeyCount}
}

// signinJSON is API.md's sign-in answer. Next is "enroll_passkey" for a
// member whose only way in is email (see signinAnswer); otherwise null
// until the rollout decides to nudge the member towards a passkey.
type signinJSON struct {
	User userJSON `json:"user"`
	Next *string  `json:"next"`
	// Cleared says what the sign-in removed from the account (the first
	// proof of a never-verified account's mailbox, docs/security.md T3):
	// "password", "passkeys", "recovery_codes", "sessions". Absent when
	// nothing was.
	Cleared []string `json:"cleared,omitempty"`
}

// nextEnrollPasskey is the sign-in answer's "next" asking the client to
// offer a passkey (API.md).
const nextEnrollPasskey = "enroll_passkey"

// signinAnswer is the sign-in answer for u.
func signinAnswer(u account.User) signinJSON {
	out := signinJSON{User: toUserJSON(u)}
	if u.NeedsPasskey() {
		next := nextEnrollPasskey
		out.Next = &next
	}
	return out
}

// sessionJSON describes a session; the token never leaves the cookie.
type sessionJSON struct {
	ID              string    `json:"id"`
	AuthMethod      string    `json:"authMethod"`
	AuthenticatedAt time.Time `json:"authenticatedAt"`
	CreatedAt       time.Time `json:"createdAt"`
	LastSeenAt      time.Time `json:"lastSeenAt"`
	ExpiresAt       time.Time `json:"expiresAt"`
	UserAgent       string    `json:"userAgent"`
	IP              string    `json:"ip"`
	Current         bool      `json:"current"`
}

func toSessionJSON(s account.Session, currentID string) sessionJSON {
	return sessionJSON{
		ID: s.ID, AuthMethod: string(s.AuthMethod), AuthenticatedAt: s.AuthenticatedAt, CreatedAt: s.CreatedAt,
		LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == currentID,
	}
}

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signup is POST /api/signup.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passwords.Signup(r.Context(), body.Email, body.Password, s.client(r))
	if err != nil {
		return err
	}
	s.setSession(w, r, res)
	writeJSON(w, http.StatusCreated, signinJSON{User: toUserJSON(res.User)})
	return nil
}

// signinPassword is POST /api/signin/password.
func (s *Server) signinPassword(w http.ResponseWriter, r *http.Request) error {
	var body credentialsBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := s.passwords.SigninPassword(r.Context(), body.Email, body.Password, s.client(r))
	s.countSignin(account.MethodPassword, err)
	if err != nil {
		return err
	}
	s.setSession(w, r, res)
	writeJSON(w, http.StatusOK, signinJSON{User: toUserJSON(res.User)})
	return nil
}

// countSignin counts an attempt that got as far as checking a credential;
// malformed requests are not sign-in attempts.
func (s *Server) countSignin(m account.AuthMethod, err error) {
	switch {
	case err == nil:
		s.metrics.signins.WithLabelValues(string(m), account.OutcomeSuccess).Inc()
	case account.IsCode(err, account.EInvalidCredentials), account.IsCode(err, account.EPasskeyRejected):
		s.metrics.signins.WithLabelValues(string(m), account.OutcomeFailure).Inc()
	case account.IsCode(err, account.EThrottled), account.IsCode(err, account.EBusy):
		s.metrics.signins.WithLabelValues(string(m), "refused").Inc()
	}
}

// authenticate returns the session of the request or EUnauthenticated.
func (s *Server) authenticate(r *http.Request) (*account.SessionWithUser, error) {
	return s.sessions.Authenticate(r.Context(), s.sessionToken(r))
}

// getSession is GET /api/session.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		User    userJSON    `json:"user"`
		Session sessionJSON `json:"session"`
	}{toUserJSON(sw.User), toSessionJSON(sw.Session, sw.Session.ID)})
	return nil
}

// deleteSession is DELETE /api/session: sign out. Without a live session it
// still clears the cookie and answers 204, so signing out is idempotent.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err == nil {
		err = s.sessions.Signout(r.Context(), &sw.Session, s.client(r))
	}
	if err != nil && !account.IsCode(err, account.EUnauthenticated) {
		return err
	}
	s.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listSessions is GET /api/sessions[?limit=N&cursor=C]: the member's live
// sessions, newest first, at most limit (1 to session.MaxSessions, the
// default) at a time; next is the cursor of the following page, or null.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	list, err := s.sessions.List(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	if cursor != nil {
		// The list is newest first, then by id: the page goes on after the
		// cursor's place even when the session it names ended meanwhile.
		i := slices.IndexFunc(list, func(x account.Session) bool {
			return x.CreatedAt.Before(cursor.createdAt) || x.CreatedAt.Equal(cursor.createdAt) && x.ID > cursor.id
		})
		if i < 0 {
			i = len(list)
		}
		list = list[i:]
	}
	var next *string
	if len(list) > limit {
		list = list[:limit]
		c := sessionCursor{list[limit-1].CreatedAt, list[limit-1].ID}.String()
		next = &c
	}
	out := make([]sessionJSON, len(list))
	for i, x := range list {
		out[i] = toSessionJSON(x, sw.Session.ID)
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []sessionJSON `json:"sessions"`
		Next     *string       `json:"next"`
	}{out, next})
	return nil
}

// sessionCursor is the place of the last session of a page.
type sessionCursor struct {
	createdAt time.Time
	id        string
}

// String encodes c as the opaque cursor of the API: base64url of
// "unix-microseconds.id" (the finest time either backend keeps).
func (c sessionCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.createdAt.UnixMicro(), 10) + "." + c.id))
}

// pageParams reads ?limit= (1 to session.MaxSessions, default the maximum)
// and ?cursor= (nil when absent) of the list of sessions.
func pageParams(r *http.Request) (limit int, cursor *sessionCursor, err error) {
	q := r.URL.Query()
	limit = session.MaxSessions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > session.MaxSessions {
			return 0, nil, &account.Error{Code: account.EInvalidRequest, Field: "limit",
				Detail: fmt.Sprintf("limit must be a whole number from 1 to %d", session.MaxSessions)}
		}
		limit = n
	}
	v := q.Get("cursor")
	if v == "" {
		return limit, nil, nil
	}
	bad := &account.Error{Code: account.EInvalidRequest, Field: "cursor", Detail: "not a cursor this server gave"}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) > 128 {
		return 0, nil, bad
	}
	ms, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, nil, bad
	}
	return limit, &sessionCursor{time.UnixMicro(n), id}, nil
}

// revokeSession is DELETE /api/sessions/{id}.
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.sessions.Revoke(r.Context(), sw.User.ID, id, s.client(r)); err != nil {
		return err
	}
	if id == sw.Session.ID {
		s.clearSession(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeAllSessions is DELETE /api/sessions: sign out everywhere, this
// browser included.
func (s *Server) revokeAllSessions(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if _, err := s.members.RevokeAllSessions(r.Context(), sw.User.ID, s.client(r)); err != nil {
		return err
	}
	s.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// healthz answers while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when the database answers and its schema is current.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	err := s.health.Ping(ctx)
	if err == nil {
		err = s.health.CheckSchema(ctx)
	}
	if err != nil {
		// The reason names the database's user, name and address: the log
		// only, never the answer (docs/security.md, T22).
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

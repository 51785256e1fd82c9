package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[account.Code]int{
	account.EInvalidRequest:     http.StatusBadRequest,
	account.EBodyTooLarge:       http.StatusRequestEntityTooLarge,
	account.EInvalidEmail:       http.StatusBadRequest,
	account.EWeakPassword:       http.StatusBadRequest,
	account.EEmailTaken:         http.StatusConflict,
	account.ESignupClosed:       http.StatusForbidden,
	account.EEmailVerified:      http.StatusConflict,
	account.EEmailUnverified:    http.StatusForbidden,
	account.EInvalidCredentials: http.StatusUnauthorized,
	account.EUnauthenticated:    http.StatusUnauthorized,
	account.ENotFound:           http.StatusNotFound,
	account.EPasskeyExists:      http.StatusConflict,
	account.EPasskeyRejected:    http.StatusUnauthorized,
	account.EInvalidCode:        http.StatusUnauthorized,
	account.EInvalidCredential:  http.StatusBadRequest,
	account.EReauthRequired:     http.StatusForbidden,
	account.EWrongPassword:      http.StatusForbidden,
	account.EPasskeyRequired:    http.StatusConflict,
	account.EThrottled:          http.StatusTooManyRequests,
	account.EBusy:               http.StatusServiceUnavailable,
	account.ECrossOrigin:        http.StatusForbidden,
	account.EMisdirected:        http.StatusMisdirectedRequest,
	account.EMethodNotAllowed:   http.StatusMethodNotAllowed,
	account.EInternal:           http.StatusInternalServerError,
	account.ENotInRollout:       http.StatusForbidden,
	account.EForceRequired:      http.StatusConflict,
	account.EInsufficientScope:  http.StatusForbidden,
	account.ENameTaken:          http.StatusConflict,
	account.ENotReady:           http.StatusConflict,
}

// Status returns the HTTP status for an error code.
func Status(code account.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// coded returns err as an *account.Error; anything uncoded is internal, and
// its text is never shown.
func coded(err error) *account.Error {
	if e, ok := errors.AsType[*account.Error](err); ok {
		return e
	}
	return &account.Error{Code: account.EInternal, Err: err}
}

// errorBody is the API's error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       account.Code `json:"code"`
	Message    string       `json:"message"`
	Reason     string       `json:"reason,omitempty"`
	Field      string       `json:"field,omitempty"`
	RetryAfter int          `json:"retryAfter,omitempty"`
}

// message returns what a person reads for e: the catalog's words for the
// code and reason, never the wrapped cause.
func (s *Server) message(e *account.Error) string {
	if e.Reason != "" && e.Name != "" {
		if _, ok := s.msg.Lookup("error." + string(e.Code) + "." + e.Reason + ".named"); ok {
			return s.msg.T("error."+string(e.Code)+"."+e.Reason+".named", e.Name)
		}
	}
	if e.Reason != "" {
		if m, ok := s.msg.Lookup("error." + string(e.Code) + "." + e.Reason); ok {
			return m
		}
	}
	if m, ok := s.msg.Lookup("error." + string(e.Code)); ok {
		return m
	}
	return s.msg.T("error.internal")
}

// writeError answers err as JSON, logs what went wrong and counts it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.observeError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, Status(e.Code), errorBody{Error: errorDetail{
		Code: e.Code, Message: s.message(e), Reason: shownReason(e), Field: e.Field, RetryAfter: e.RetryAfter,
	}})
}

// shownReason is the reason an answer may carry. A refused passkey sign-in
// carries none: "unknown credential", "wrong user" and "verification
// failed" would tell a real passkey from a decoy, and so an account from
// none. The reason stays in the log line and the audit event.
func shownReason(e *account.Error) string {
	if e.Code == account.EPasskeyRejected {
		return ""
	}
	return e.Reason
}

// observeError logs and counts err, and returns it coded.
func (s *Server) observeError(r *http.Request, err error) *account.Error {
	e := coded(err)
	s.metrics.Errors.WithLabelValues(string(e.Code)).Inc()
	if e.Code == account.EInternal {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// apiFunc is an API handler: it returns an error and the adapter answers it.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) api(h apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

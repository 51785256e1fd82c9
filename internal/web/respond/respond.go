// Package respond answers keyshift's requests: the one table from an
// error's code to its HTTP status, the API's JSON error answer, the pages
// (rendered from package page) and the two adapters, API and Form, that
// turn a handler's returned error into the answer — the words a person
// reads from the catalog, the cause only in the log, every refusal counted.
package respond

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/metrics"
	"github.com/keyshift/keyshift/internal/web/page"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[account.Code]int{
	account.EInvalidRequest:         http.StatusBadRequest,
	account.EBodyTooLarge:           http.StatusRequestEntityTooLarge,
	account.EInvalidEmail:           http.StatusBadRequest,
	account.EWeakPassword:           http.StatusBadRequest,
	account.EEmailTaken:             http.StatusConflict,
	account.ESignupClosed:           http.StatusForbidden,
	account.EPasswordSignupDisabled: http.StatusForbidden,
	account.EEmailVerified:          http.StatusConflict,
	account.EEmailUnverified:        http.StatusForbidden,
	account.EInvalidCredentials:     http.StatusUnauthorized,
	account.EUnauthenticated:        http.StatusUnauthorized,
	account.ENotFound:               http.StatusNotFound,
	account.EPasskeyExists:          http.StatusConflict,
	account.EPasskeyRejected:        http.StatusUnauthorized,
	account.EInvalidCode:            http.StatusUnauthorized,
	account.EInvalidCredential:      http.StatusBadRequest,
	account.EReauthRequired:         http.StatusForbidden,
	account.ECredentialOnProbation:  http.StatusForbidden,
	account.EWrongPassword:          http.StatusForbidden,
	account.EPasskeyRequired:        http.StatusConflict,
	account.EThrottled:              http.StatusTooManyRequests,
	account.EBusy:                   http.StatusServiceUnavailable,
	account.ECrossOrigin:            http.StatusForbidden,
	account.EMisdirected:            http.StatusMisdirectedRequest,
	account.EMethodNotAllowed:       http.StatusMethodNotAllowed,
	account.EInternal:               http.StatusInternalServerError,
	account.ENotInRollout:           http.StatusForbidden,
	account.EForceRequired:          http.StatusConflict,
	account.EInsufficientScope:      http.StatusForbidden,
	account.EAdminRequired:          http.StatusForbidden,
	account.ENameTaken:              http.StatusConflict,
	account.ENotReady:               http.StatusConflict,
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

// Responder answers requests: errors as JSON or pages, and pages.
type Responder struct {
	msg          *i18n.Catalog
	log          *slog.Logger
	metrics      *metrics.Metrics
	pages        *page.Set
	signupClosed bool
}

// New returns a Responder that words answers from msg, renders pages from
// pages, logs to log and counts errors in m. signupClosed is shown on
// every page (its sign-up links go).
func New(msg *i18n.Catalog, pages *page.Set, log *slog.Logger, m *metrics.Metrics, signupClosed bool) *Responder {
	return &Responder{msg: msg, log: log, metrics: m, pages: pages, signupClosed: signupClosed}
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
	// Until is when a refusal that ends by itself ends (RFC 3339, UTC):
	// credential_on_probation.
	Until string `json:"until,omitempty"`
	// Signals are what the page hands to the browser's Signal API, in
	// the shapes it takes (docs/api.md, "Signal API").
	Signals *errorSignals `json:"signals,omitempty"`
}

type errorSignals struct {
	UnknownCredential *account.UnknownCredential `json:"unknownCredential,omitempty"`
}

// Message returns what a person reads for e: the catalog's words for the
// code and reason, never the wrapped cause.
func (o *Responder) Message(e *account.Error) string {
	if !e.Until.IsZero() {
		if _, ok := o.msg.Lookup("error." + string(e.Code) + ".until"); ok {
			return o.msg.T("error."+string(e.Code)+".until", e.Until.UTC().Format("2 January 2006, 15:04 UTC"))
		}
	}
	if e.Reason != "" && e.Name != "" {
		if _, ok := o.msg.Lookup("error." + string(e.Code) + "." + e.Reason + ".named"); ok {
			return o.msg.T("error."+string(e.Code)+"."+e.Reason+".named", e.Name)
		}
	}
	if e.Reason != "" {
		if m, ok := o.msg.Lookup("error." + string(e.Code) + "." + e.Reason); ok {
			return m
		}
	}
	if m, ok := o.msg.Lookup("error." + string(e.Code)); ok {
		return m
	}
	return o.msg.T("error.internal")
}

// Error answers err as JSON, logs what went wrong and counts it.
func (o *Responder) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := o.Observe(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	d := errorDetail{Code: e.Code, Message: o.Message(e), Reason: shownReason(e), Field: e.Field, RetryAfter: e.RetryAfter}
	if e.Unknown != nil {
		d.Signals = &errorSignals{UnknownCredential: e.Unknown}
	}
	if !e.Until.IsZero() {
		d.Until = e.Until.UTC().Format(time.RFC3339)
	}
	JSON(w, Status(e.Code), errorBody{Error: d})
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

// Observe logs and counts err, and returns it coded.
func (o *Responder) Observe(r *http.Request, err error) *account.Error {
	e := coded(err)
	o.metrics.Errors.WithLabelValues(string(e.Code)).Inc()
	if e.Code == account.EInternal {
		o.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		o.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	return e
}

// JSON writes v as the answer, with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Func is a handler that returns an error for its adapter (API or Form) to
// answer.
type Func func(w http.ResponseWriter, r *http.Request) error

// API adapts an API handler: its answers are never cached, and its error
// is answered as JSON (Error).
func (o *Responder) API(h Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r); err != nil {
			o.Error(w, r, err)
		}
	})
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Target is a keyshift reached over HTTP, with a pooled client as a busy
// reverse proxy would hold.
type Target struct {
	URL  string
	HTTP *http.Client
	// ForwardedFor, when set, is sent as X-Forwarded-For on sign-up and
	// sign-in (see From).
	ForwardedFor string
}

// From returns a copy of t whose password sign-ups and sign-ins say, in
// X-Forwarded-For, that they come from ip. A keyshift that trusts the
// loopback proxy believes it, so a load of distinct people is not
// throttled as one address (keyshift counts every attempt on its IP).
func (t *Target) From(ip string) *Target {
	c := *t
	c.ForwardedFor = ip
	return &c
}

// NewTarget returns a Target for the origin url.
func NewTarget(url string) *Target {
	return &Target{URL: strings.TrimSuffix(url, "/"), HTTP: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256},
	}}
}

// post sends body as JSON and returns the answer's status and cookies.
func (t *Target) post(ctx context.Context, path string, body any) (*http.Response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+path, bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", t.ForwardedFor)
	}
	res, err := t.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// ErrThrottled is an answer 429: keyshift's throttle refused the attempt.
// Load runs count it apart from errors.
var ErrThrottled = errors.New("status 429: throttled")

// ErrBusy is an answer 503: the server refused work it had no room for
// (the password-hashing gate's server_busy, with Retry-After). Load runs
// count it apart from errors too: under overload it is the answer the
// design gives.
var ErrBusy = errors.New("status 503: busy")

func expect(res *http.Response, err error, status int) (*http.Response, error) {
	if err != nil {
		return nil, err
	}
	switch res.StatusCode {
	case status:
		return res, nil
	case http.StatusTooManyRequests:
		return nil, ErrThrottled
	case http.StatusServiceUnavailable:
		if res.Header.Get("Retry-After") != "" {
			return nil, ErrBusy
		}
	}
	return nil, fmt.Errorf("status %d", res.StatusCode)
}

// EmailStart asks for a sign-in mail to email (POST /api/email/start); an
// error unless the answer is 202.
func (t *Target) EmailStart(ctx context.Context, email string) error {
	res, err := t.post(ctx, "/api/email/start", map[string]string{"email": email})
	_, err = expect(res, err, http.StatusAccepted)
	return err
}

// SigninCookie signs in with a password and returns the session cookie
// ("name=value").
func (t *Target) SigninCookie(ctx context.Context, email, password string) (string, error) {
	res, err := t.post(ctx, "/api/signin/password", map[string]string{"email": email, "password": password})
	if res, err = expect(res, err, http.StatusOK); err != nil {
		return "", fmt.Errorf("signin: %w", err)
	}
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "ks_session") {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("signin: no session cookie")
}

// Signup creates an account and returns its session cookie ("name=value").
func (t *Target) Signup(ctx context.Context, email, password string) (string, error) {
	res, err := t.post(ctx, "/api/signup", map[string]string{"email": email, "password": password})
	if res, err = expect(res, err, http.StatusCreated); err != nil {
		return "", fmt.Errorf("signup: %w", err)
	}
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "ks_session") {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("signup: no session cookie")
}

// Signin signs in with a password; an error unless the answer is 200.
func (t *Target) Signin(ctx context.Context, email, password string) error {
	res, err := t.post(ctx, "/api/signin/password", map[string]string{"email": email, "password": password})
	_, err = expect(res, err, http.StatusOK)
	return err
}

// Session validates a session cookie with GET /api/session.
func (t *Target) Session(ctx context.Context, cookie string) error {
	return t.check(ctx, "/api/session", cookie)
}

// Verify asks forward-auth about a session cookie (GET /api/verify), as a
// reverse proxy does before every request to an app.
func (t *Target) Verify(ctx context.Context, cookie string) error {
	return t.check(ctx, "/api/verify", cookie)
}

// check GETs path with cookie; an error unless the answer is 200.
func (t *Target) check(ctx context.Context, path, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	res, err := t.HTTP.Do(req)
	_, err = expect(res, err, http.StatusOK)
	if res != nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return err
}

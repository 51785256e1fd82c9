package account

import "time"

// Client describes who is asking: recorded on sessions and events, and used
// to choose throttle keys.
type Client struct {
	IP        string
	UserAgent string
	// Device is set when the request carries a valid device cookie: proof
	// that this browser signed in as Device.UserID before.
	Device *Device
	// SigninMs is the page's own measure of a sign-in, from page load to
	// the request that finishes it, in milliseconds, as the page sent it
	// (0: none). Only telemetry reads it, and bounds it first: it is the
	// client's word.
	SigninMs int
	// Began is when the server started on the request (zero: unknown), so
	// telemetry can record the server's own time of a sign-in.
	Began time.Time
}

// Device is a browser that signed in successfully before.
type Device struct {
	UserID string
	ID     string
	// Epoch is the account's DeviceEpoch when the cookie was issued.
	Epoch int
}

// Trusted reports whether d is a trusted device of u: it signed in to u
// since u last revoked its devices (User.DeviceEpoch).
func (d *Device) Trusted(u *User) bool {
	return d != nil && u != nil && d.UserID == u.ID && d.Epoch == u.DeviceEpoch
}

// SigninResult is a new session and the token that proves it. The token is
// shown once (in a cookie) and only its hash is stored.
type SigninResult struct {
	User    User
	Session Session
	Token   string
	// Removed is what the sign-in took from the account: the first proof
	// of a never-verified account's mailbox removes what was set before it
	// (docs/security.md, T3). Usually nothing.
	Removed Removed
	// Created: the sign-in made the account (an email sign-in of an
	// address that had none: a sign-up by email).
	Created bool
}

// Changed is the member's account after an action that renewed their
// session's token (session rotation): Token goes into the browser's cookie.
type Changed struct {
	User  *User
	Token string
}

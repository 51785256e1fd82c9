package rollout

// Member is what the offer table needs to know about whoever asks: a member
// signed in, or a visitor about to sign up.
type Member struct {
	// Visitor: no account yet (the sign-up page, or an email sign-in that
	// would create the account).
	Visitor bool
	// Internal: the address is in the internal cohort.
	Internal bool
	// Beta: the member switched "Try passkeys" on.
	Beta bool
	// InRamp: the member (by account.User.RampSubject, else by id) or
	// visitor (by account.AddressRampSubject) is within the ramp's
	// percentage.
	InRamp bool
	// New: the account was made since the rollout first reached new-users,
	// or is being made now (the answer to a sign-up).
	New bool
	// HasPasskey and HasPassword: what the account holds now.
	HasPasskey  bool
	HasPassword bool
}

// Offer is what the pages and the API offer a member in a phase. Signing
// in with a passkey the member holds, managing and deleting passkeys, and
// password and email sign-in are never gated, so they are not here.
type Offer struct {
	// AddPasskey: /api/passkeys/register/begin is allowed and /account
	// shows "Add a passkey". Outside it the API answers 403 not_in_rollout.
	AddPasskey bool
	// PasskeySignup: /signup leads with the passkey (a visitor only).
	PasskeySignup bool
	// NudgeAfterSignup: the answer to a sign-up says "next":
	// "enroll_passkey" (the member has no passkey yet).
	NudgeAfterSignup bool
	// NudgeAfterSignin: a password, email or recovery-code sign-in of a
	// member without a passkey answers "next": "enroll_passkey" unless the
	// member snoozed or declined the nudge.
	NudgeAfterSignin bool
	// BetaToggle: /account shows "Try passkeys", because the member is not
	// reached otherwise (or has it on already and may switch it off).
	BetaToggle bool
	// PasskeyFirst: a browser that remembers the member leads /signin with
	// the passkey; the password is behind "Use a password instead".
	PasskeyFirst bool
	// Passwordless: /account offers "Go passwordless" (consent to retire the
	// password once the account is ready) to a member with a password and a
	// passkey.
	Passwordless bool
}

// reached reports whether the phase reaches the member: the internal cohort
// from dogfood, opted-in members from beta, and members within the ramp
// from existing-users — or from new-users when their account is new (a
// visitor counts as new).
func reached(p Phase, m Member) bool {
	switch {
	case m.Internal && p >= Dogfood:
		return true
	case m.Beta && p >= Beta:
		return true
	case m.InRamp && p >= ExistingUsers:
		return true
	case m.InRamp && p >= NewUsers && (m.New || m.Visitor):
		return true
	}
	return false
}

// Offers is the one table of the rollout: what phase p offers member m.
// A member who holds a passkey already may always add another (a second
// passkey is the best recovery, and moving the phase back must not strand
// anyone with a single device).
func Offers(p Phase, m Member) Offer {
	in := reached(p, m)
	var o Offer
	if m.Visitor {
		o.PasskeySignup = in
		return o
	}
	o.AddPasskey = in || m.HasPasskey
	o.NudgeAfterSignup = in && !m.HasPasskey && m.New
	o.NudgeAfterSignin = in && !m.HasPasskey && (p >= ExistingUsers || m.Internal || m.Beta)
	o.BetaToggle = p >= Beta && (m.Beta || !in)
	o.PasskeyFirst = in && p >= PasswordDeprecation && m.HasPasskey
	o.Passwordless = in && p >= PasswordRetirement && m.HasPassword && m.HasPasskey
	return o
}

package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/userfile"
)

// importRun is one run in progress.
type importRun struct {
	st   Store
	opt  *Options
	run  *Import
	rej  *rejectWriter
	prog *progress
}

// batch is BatchSize consecutive rows of the file, validated: what one
// transaction takes.
type batch struct {
	members []pending
	rejects []reject
	counts  Counts // rows read and rows refused before the database
	offset  int64  // past the batch's last row
	line    int
}

type pending struct {
	line int
	raw  string // for the reject file, should the database refuse the row
	m    *member
}

// loop reads and validates rows on one goroutine while the batch before
// is written on this one: on two cores the reader's JSON and the
// database's work overlap. At most two batches wait between them.
func (im *importRun) loop(parent context.Context, rd *userfile.Reader) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	batches := make(chan *batch, 2)
	produced := make(chan error, 1)
	resumeAt := im.run.Offset // apply moves im.run on as batches commit
	go func() {
		defer close(batches)
		produced <- im.produce(ctx, rd, resumeAt, batches)
	}()
	var err error
	for b := range batches {
		if err = im.apply(ctx, b); err != nil {
			break
		}
		im.prog.update(im.run.Offset, im.run.Counts.Read, false)
	}
	cancel()
	for range batches { // let the reader see the cancel and stop
	}
	if perr := <-produced; err == nil && !errors.Is(perr, context.Canceled) {
		err = perr
	}
	if err == nil {
		err = parent.Err()
	}
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted: every committed batch stays; continue with --resume")
	}
	im.prog.update(im.run.Offset, im.run.Counts.Read, true)
	return err
}

// produce reads the file into batches. Rows up to resumeAt, the offset the
// run had committed when it began, are read again only to claim their keys,
// so a duplicate of one of them is still found.
func (im *importRun) produce(ctx context.Context, rd *userfile.Reader, resumeAt int64, out chan<- *batch) error {
	cl := newClaims()
	b := &batch{}
	n := 0
	now := im.opt.Now()
	for {
		rec, err := rd.Next()
		var re *userfile.RowError
		switch {
		case errors.Is(err, io.EOF):
			if n == 0 {
				return nil
			}
			return send(ctx, out, b)
		case errors.As(err, &re):
			if re.Offset <= resumeAt {
				continue
			}
			b.offset, b.line = re.Offset, re.Line
			b.counts.Read++
			b.counts.reject(re.Reason)
			b.rejects = append(b.rejects, reject{Line: re.Line, Reason: re.Reason, Message: re.Message, Row: string(re.Raw)})
		case err != nil:
			return err
		default:
			m, rerr := validate(&rec.Row, im.opt.Legacy, now)
			if rerr == nil {
				rerr = cl.claim(m)
			}
			if rec.Offset <= resumeAt {
				continue
			}
			b.offset, b.line = rec.Offset, rec.Line
			b.counts.Read++
			if rerr != nil {
				b.counts.reject(rerr.reason)
				b.rejects = append(b.rejects, reject{Line: rec.Line, Reason: rerr.reason, Message: rerr.msg, Row: string(rec.Raw)})
			} else {
				b.members = append(b.members, pending{line: rec.Line, raw: string(rec.Raw), m: m})
			}
		}
		if n++; n == im.opt.BatchSize {
			if err := send(ctx, out, b); err != nil {
				return err
			}
			b, n = &batch{}, 0
		}
	}
}

func send(ctx context.Context, out chan<- *batch, b *batch) error {
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errRace is a row the database refused although the batch's lookups let
// it through: another writer (a sign-up, a passkey registration) took a key
// between them. The batch is rolled back and done again from its lookups.
var errRace = errors.New("a key was taken while the batch was written")

const raceRetries = 3

// apply writes one batch in one transaction: the lookups, the new accounts
// and credentials, and the run's new place in the file, together. The
// batch's rejects reach the reject file just before the commit; a crash
// between the two leaves extra lines that --resume cuts off.
func (im *importRun) apply(ctx context.Context, b *batch) error {
	keys := batchKeys(b)
	for attempt := 1; ; attempt++ {
		var d Counts
		fn := func(ctx context.Context) error {
			matches, err := im.st.FindImportMatches(ctx, keys)
			if err != nil {
				return err
			}
			var users []account.User
			var creds []account.Credential
			var rejects []reject
			users, creds, rejects, d = classify(b, matches)
			if !im.opt.DryRun {
				if err := im.insert(ctx, users, creds); err != nil {
					return err
				}
				next := *im.run
				next.Counts = next.Counts.plus(&d)
				next.Offset, next.Line, next.UpdatedAt = b.offset, b.line, im.opt.Now()
				if err := im.st.SaveImport(ctx, &next); err != nil {
					return err
				}
			}
			return im.rej.write(rejects)
		}
		var err error
		if im.opt.DryRun {
			err = fn(ctx)
		} else {
			err = im.st.InTx(ctx, fn)
		}
		if errors.Is(err, errRace) && attempt < raceRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("batch ending at line %d: %w", b.line, err)
		}
		im.run.Counts = im.run.Counts.plus(&d)
		im.run.Offset, im.run.Line = b.offset, b.line
		return nil
	}
}

func (im *importRun) insert(ctx context.Context, users []account.User, creds []account.Credential) error {
	n, err := im.st.InsertUsers(ctx, users)
	if err != nil {
		return err
	}
	if n != int64(len(users)) {
		return errRace
	}
	if n, err = im.st.InsertCredentials(ctx, creds); err != nil {
		return err
	}
	if n != int64(len(creds)) {
		return errRace
	}
	return nil
}

func batchKeys(b *batch) *Keys {
	k := &Keys{}
	for _, p := range b.members {
		u := &p.m.user
		k.EmailKeys = append(k.EmailKeys, u.EmailKey)
		if u.ExternalID != "" {
			k.ExternalIDs = append(k.ExternalIDs, u.ExternalID)
		}
		if p.m.handleGiven {
			k.UserHandles = append(k.UserHandles, u.WebAuthnID)
		}
		for _, c := range p.m.passkeys {
			k.CredentialIDs = append(k.CredentialIDs, c.CredentialID)
		}
	}
	return k
}

// classify decides each member of the batch against what the database
// holds: matched by external_id, then email, to an existing account —
// unchanged, the import never alters an account — or refused because the
// email belongs to another account or a passkey or user handle is
// registered already, or new. It returns what to insert, the batch's
// rejects in line order, and the batch's counts.
func classify(b *batch, mt *Matches) ([]account.User, []account.Credential, []reject, Counts) {
	d := b.counts.plus(nil)
	rejects := slices.Clone(b.rejects)
	var users []account.User
	var creds []account.Credential
	drop := func(p pending, reason, msg string) {
		d.reject(reason)
		rejects = append(rejects, reject{Line: p.line, Reason: reason, Message: msg, Row: p.raw})
	}
	for _, p := range b.members {
		m := p.m
		ext := m.user.ExternalID
		if _, ok := mt.ByExternalID[ext]; ok && ext != "" {
			d.Unchanged++
			continue
		}
		if acc, ok := mt.ByEmailKey[m.user.EmailKey]; ok {
			if ext == "" {
				d.Unchanged++
			} else if acc.ExternalID == "" {
				drop(p, ReasonEmailTaken, "an account with this email exists and has no external_id")
			} else {
				drop(p, ReasonEmailTaken, "an account with this email exists with another external_id")
			}
			continue
		}
		if i := slices.IndexFunc(m.passkeys, func(c account.Credential) bool { return mt.CredentialIDs[string(c.CredentialID)] }); i >= 0 {
			drop(p, ReasonPasskeyTaken, fmt.Sprintf("passkey %d: its credential_id is registered already", i+1))
			continue
		}
		if m.handleGiven && mt.UserHandles[string(m.user.WebAuthnID)] {
			drop(p, ReasonUserHandleTaken, "another account has this user_handle")
			continue
		}
		u := m.user
		u.ID = newID()
		users = append(users, u)
		if m.password != nil {
			c := *m.password
			c.ID, c.UserID = newID(), u.ID
			creds = append(creds, c)
			d.addFormat(string(m.format), m.weak)
		}
		for _, pk := range m.passkeys {
			pk.ID, pk.UserID = newID(), u.ID
			creds = append(creds, pk)
		}
		d.Imported++
		d.Passkeys += int64(len(m.passkeys))
	}
	slices.SortStableFunc(rejects, func(a, b reject) int { return a.Line - b.Line })
	return users, creds, rejects, d
}

// plus returns c + d (d may be nil) without sharing c's maps.
func (c Counts) plus(d *Counts) Counts {
	out := c
	out.Reasons, out.Formats = maps.Clone(c.Reasons), maps.Clone(c.Formats)
	if d != nil {
		out.add(d)
	}
	return out
}

func (c *Counts) addFormat(f string, weak bool) {
	if c.Formats == nil {
		c.Formats = map[string]int64{}
	}
	c.Formats[f]++
	if weak {
		c.Weak++
	}
}

// finish marks the run done and writes its one audit event, together.
func (im *importRun) finish(ctx context.Context) error {
	if im.opt.DryRun {
		return nil
	}
	now := im.opt.Now()
	im.run.Status, im.run.UpdatedAt, im.run.FinishedAt = StatusDone, now, now
	c := im.run.Counts
	return im.st.InTx(ctx, func(ctx context.Context) error {
		if err := im.st.SaveImport(ctx, im.run); err != nil {
			return err
		}
		return im.st.AppendEvent(ctx, &account.Event{At: now, Type: EventImported, Outcome: account.OutcomeSuccess,
			Data: map[string]any{
				"import": im.run.ID, "file": im.run.FileName, "sha256": fmt.Sprintf("%x", im.run.SHA256),
				"read": c.Read, "imported": c.Imported, "unchanged": c.Unchanged, "rejected": c.Rejected,
				"reasons": c.Reasons, "password_formats": c.Formats, "weak_passwords": c.Weak, "passkeys": c.Passkeys,
			}})
	})
}

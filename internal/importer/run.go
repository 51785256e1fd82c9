package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

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
	// file is read again for the text of a row the database refuses:
	// batches keep each row's place, not its text, which would be most of
	// their memory.
	file io.ReaderAt
	// optimistic is set while batches meet no existing account: the next
	// batch is inserted without looking its keys up first (see apply).
	optimistic atomic.Bool
	// after is the store's work once rows were imported (TuneForImport).
	after func(context.Context) error
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
	// start and size place the row's text in the file, for the reject
	// file should the database refuse the row.
	start int64
	size  int
	m     *member
}

// loop reads and validates rows on one goroutine while writers put the
// batches before into the database: on two cores the reader's JSON and the
// database's work overlap. The channel holds none: the reader, much the
// faster, fills the next batch and waits with it, so the batches in memory
// are the writers' and one more.
//
// With more than one writer (PostgreSQL, see Store.ImportWriters) batches
// are written in parallel transactions but commit in file order: each
// transaction waits for the one before it to commit before it records the
// run's new place in the file, so a crash never leaves a later batch
// committed and an earlier one not, and --resume stays exact. Two such
// transactions never wait for each other inside the database: their rows'
// unique keys are distinct (the reader's window refuses a key a batch still
// in flight has), and the imports row is only written once the one before
// has committed.
func (im *importRun) loop(parent context.Context, rd *userfile.Reader) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	batches := make(chan *batch)
	produced := make(chan error, 1)
	resumeAt := im.run.Offset // batches move im.run on as they commit
	go func() {
		defer close(batches)
		produced <- im.produce(ctx, rd, resumeAt, batches)
	}()
	var (
		mu       sync.Mutex // hands out batches and their turns in order
		last     = doneTurn()
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	for range im.opt.Writers {
		wg.Go(func() {
			for {
				mu.Lock()
				b, ok := <-batches
				t := &turn{prev: last, done: make(chan struct{})}
				last = t
				mu.Unlock()
				if !ok {
					return
				}
				err := im.apply(ctx, b, t)
				t.end(err)
				if err != nil {
					if !errors.Is(err, errEarlierFailed) {
						fail(err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
	err := firstErr
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

// turn orders the commits of batches written in parallel: a batch commits
// after the one before it has.
type turn struct {
	prev *turn
	done chan struct{}
	err  error // set before done closes
}

func doneTurn() *turn {
	t := &turn{done: make(chan struct{})}
	close(t.done)
	return t
}

func (t *turn) end(err error) {
	t.err = err
	close(t.done)
}

// errEarlierFailed ends a batch whose predecessor failed: the run stops
// with the predecessor's error.
var errEarlierFailed = errors.New("an earlier batch failed")

// wait returns once the batch before has committed.
func (t *turn) wait(ctx context.Context) error {
	if t.prev == nil {
		return nil // waited already
	}
	select {
	case <-t.prev.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	failed := t.prev.err != nil
	t.prev = nil // so the run does not keep every turn since its first
	if failed {
		return errEarlierFailed
	}
	return nil
}

// produce reads the file into batches. Rows up to resumeAt, the offset the
// run had committed when it began, are skipped: a row repeating one of
// theirs meets it in the database (see seen).
func (im *importRun) produce(ctx context.Context, rd *userfile.Reader, resumeAt int64, out chan<- *batch) error {
	var cl seen
	if im.opt.DryRun {
		cl = newClaims()
	} else {
		cl = newWindow(im.opt.Writers)
	}
	defer cl.free()
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
			if rec.Offset <= resumeAt {
				continue
			}
			m, rerr := validate(&rec.Row, im.opt.Legacy, now)
			if rerr == nil {
				rerr = cl.claim(m)
			}
			b.offset, b.line = rec.Offset, rec.Line
			b.counts.Read++
			if rerr != nil {
				b.counts.reject(rerr.reason)
				b.rejects = append(b.rejects, reject{Line: rec.Line, Reason: rerr.reason, Message: rerr.msg, Row: string(rec.Raw)})
			} else {
				m.assignIDs()
				b.members = append(b.members, pending{line: rec.Line, start: rec.Start, size: len(rec.Raw), m: m})
			}
		}
		if n++; n == im.opt.BatchSize {
			if err := send(ctx, out, b); err != nil {
				return err
			}
			cl.endBatch()
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
//
// While batches meet no existing account (a first import into a new
// database, the common case), a batch skips the lookups: it is inserted as
// all new, and since every key a lookup would ask about is a unique key of
// its table, the inserts skip exactly the rows a lookup would have found.
// All rows inserted means the lookups would have found nothing, so the
// result is the same; a row skipped rolls the batch back to be done again
// the careful way, and lookups stay on until a batch finds no match. On a
// million-row import the lookups were a tenth of the writer's time. An
// address reserved to an account (account.Reservation) is no unique key,
// so a batch inserted while any exists is done again the careful way, and
// lookups stay on while they exist.
func (im *importRun) apply(ctx context.Context, b *batch, t *turn) error {
	var keys *Keys
	fresh := im.optimistic.Load() && !im.opt.DryRun
	for attempt := 1; ; attempt++ {
		optimistic := fresh
		if !optimistic && keys == nil {
			keys = batchKeys(b)
		}
		var d Counts
		var matched bool
		fn := func(ctx context.Context) error {
			matches := &Matches{}
			if !optimistic {
				var err error
				keys.At = im.opt.Now()
				if matches, err = im.st.FindImportMatches(ctx, keys); err != nil {
					return err
				}
				// Reserved addresses are no unique key the inserts would
				// skip: while any exists, batches keep their lookups.
				reserved, err := im.st.HasEmailReservations(ctx, keys.At)
				if err != nil {
					return err
				}
				matched = matches.any() || reserved
			}
			var users []*account.User
			var creds []*account.Credential
			var rejects []reject
			var err error
			users, creds, rejects, d, err = classify(b, matches, im.run.ID, im.rowText)
			if err != nil {
				return err
			}
			if !im.opt.DryRun {
				if err := im.insert(ctx, users, creds, optimistic); err != nil {
					return err
				}
			}
			if optimistic {
				// Asked after the inserts, which on PostgreSQL waited for
				// any transaction moving an account off an address of
				// theirs: a reservation it made is seen here.
				if reserved, err := im.st.HasEmailReservations(ctx, im.opt.Now()); err != nil {
					return err
				} else if reserved {
					return errRace
				}
			}
			if err := t.wait(ctx); err != nil {
				return err
			}
			if !im.opt.DryRun {
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
		if errors.Is(err, errRace) && optimistic {
			// Not a race: the batch meets accounts the database holds.
			im.optimistic.Store(false)
			fresh = false
			attempt--
			continue
		}
		if errors.Is(err, errRace) && attempt < raceRetries {
			continue
		}
		if errors.Is(err, errEarlierFailed) {
			return err
		}
		if err != nil {
			return fmt.Errorf("batch ending at line %d: %w", b.line, err)
		}
		if !optimistic {
			im.optimistic.Store(!matched)
		}
		// This batch's turn: the next one waits for it to be done.
		im.run.Counts = im.run.Counts.plus(&d)
		im.run.Offset, im.run.Line = b.offset, b.line
		im.prog.update(im.run.Offset, im.run.Counts.Read, false)
		return nil
	}
}

// assignIDs gives the member and its credentials their ids. The reader
// does it, on its own core, not the writer: ids are a good part of what
// the writer would otherwise do between statements.
func (m *member) assignIDs() {
	m.user.ID = newID()
	if m.user.WebAuthnID == nil {
		m.setHandle(newHandle())
	}
	if m.password != nil {
		m.password.ID, m.password.UserID = newID(), m.user.ID
	}
	for i := range m.passkeys {
		m.passkeys[i].ID, m.passkeys[i].UserID = newID(), m.user.ID
	}
}

// setHandle makes handle the member's WebAuthn user handle, and its
// passkeys'.
func (m *member) setHandle(handle []byte) {
	m.user.WebAuthnID = handle
	for i := range m.passkeys {
		m.passkeys[i].UserHandle = handle
	}
}

// rowText reads a row's text back from the file for the reject file.
func (im *importRun) rowText(p pending) (string, error) {
	buf := make([]byte, p.size)
	if _, err := im.file.ReadAt(buf, p.start); err != nil {
		return "", fmt.Errorf("reading line %d again for the reject file: %w", p.line, err)
	}
	return string(buf), nil
}

// insert writes a batch's new rows. fresh says no lookup was made: a
// clash is then no race but a batch that needs its lookups (see apply).
func (im *importRun) insert(ctx context.Context, users []*account.User, creds []*account.Credential, fresh bool) error {
	n, err := im.st.InsertUsers(ctx, im.run.ID, users, fresh)
	if err == nil && n != int64(len(users)) {
		err = errRace
	}
	if err == nil {
		n, err = im.st.InsertCredentials(ctx, creds, fresh)
	}
	if err == nil && n != int64(len(creds)) {
		err = errRace
	}
	if errors.Is(err, ErrKeyTaken) {
		err = errRace
	}
	return err
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
// holds: a duplicate of an earlier row of the run (repeats), matched by
// external_id, then email, to an existing account —
// unchanged, the import never alters an account — or refused because the
// email belongs to another account or a passkey or user handle is
// registered already, or new. It returns what to insert, the batch's
// rejects in line order, and the batch's counts; text gives a refused
// row's text.
func classify(b *batch, mt *Matches, run string, text func(pending) (string, error)) ([]*account.User, []*account.Credential, []reject, Counts, error) {
	d := b.counts.plus(nil)
	rejects := slices.Clone(b.rejects)
	users := make([]*account.User, 0, len(b.members))
	creds := make([]*account.Credential, 0, len(b.members)*3/2)
	var textErr error
	drop := func(p pending, reason, msg string) {
		d.reject(reason)
		row, err := text(p)
		textErr = cmp.Or(textErr, err)
		rejects = append(rejects, reject{Line: p.line, Reason: reason, Message: msg, Row: row})
	}
	for _, p := range b.members {
		m := p.m
		if rerr := repeats(m, mt, run); rerr != nil {
			drop(p, rerr.reason, rerr.msg)
			continue
		}
		ext := m.user.ExternalID
		if _, ok := mt.ByExternalID[ext]; ok && ext != "" {
			d.Unchanged++
			continue
		}
		if acc, ok := mt.ByEmailKey[m.user.EmailKey]; ok {
			if !sameMemberPossible(acc) {
				drop(p, ReasonEmailUnverifiedConflict, "an account made by sign-up with this email never proved the address; it may not be this member's")
			} else if ext == "" {
				d.Unchanged++
			} else if acc.ExternalID == "" {
				drop(p, ReasonEmailTaken, "an account with this email exists and has no external_id")
			} else {
				drop(p, ReasonEmailTaken, "an account with this email exists with another external_id")
			}
			continue
		}
		if i := slices.IndexFunc(m.passkeys, func(c account.Credential) bool { _, ok := mt.CredentialIDs[string(c.CredentialID)]; return ok }); i >= 0 {
			drop(p, ReasonPasskeyTaken, fmt.Sprintf("passkey %d: its credential_id is registered already", i+1))
			continue
		}
		if _, ok := mt.UserHandles[string(m.user.WebAuthnID)]; ok && m.handleGiven {
			drop(p, ReasonUserHandleTaken, "another account has this user_handle")
			continue
		}
		// Pointers into the batch, not copies: a batch's members are a
		// good part of the import's memory, and it holds them anyway.
		users = append(users, &m.user)
		if m.password != nil {
			creds = append(creds, m.password)
			d.addFormat(string(m.format), m.weak)
		}
		for i := range m.passkeys {
			creds = append(creds, &m.passkeys[i])
		}
		d.Imported++
		d.Passkeys += int64(len(m.passkeys))
	}
	slices.SortStableFunc(rejects, func(a, b reject) int { return a.Line - b.Line })
	return users, creds, rejects, d, textErr
}

// sameMemberPossible reports whether an existing account with a row's
// address can be the row's member. Only a proven address or an earlier
// import says so: anyone can sign up with someone else's address, and
// taking such an account for the legacy member would drop the member's
// hash and passkeys and leave the squatter's password in place.
func sameMemberPossible(acc Match) bool {
	return acc.EmailVerified || acc.Origin == account.OriginImport
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
	err := im.st.InTx(ctx, func(ctx context.Context) error {
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
	if err != nil || c.Imported == 0 {
		return err
	}
	// The run is done and recorded; statistics that cannot be refreshed
	// leave the planner guessing until autovacuum does it, which is no
	// reason to call the import failed.
	_ = im.after(ctx)
	return nil
}

package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// walk collects what EachMember yields, deep-copied out of the reused page.
func walk(t *testing.T, db *store.DB, pageSize int) []store.Member {
	t.Helper()
	var out []store.Member
	err := db.EachMember(t.Context(), pageSize, func(m *store.Member) error {
		out = append(out, *m)
		return nil
	})
	if err != nil {
		t.Fatalf("EachMember: %v", err)
	}
	return out
}

func TestEachMemberYieldsEveryMemberWithTheirCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		// Ids whose byte order and a natural-language collation disagree
		// ("B" < "a" in bytes, not in en_US), so pages and the matching of
		// credentials to members cannot rely on Go's string order.
		ids := []string{"u-B", "u-a", "u-c", "u-Ä", "u-10", "u-9", "u-" + hostile[0].text}
		want := map[string]store.Member{}
		for i, id := range ids {
			u := newUser()
			u.ID = id
			u.EmailVerified = i%2 == 0
			u.ExternalID = "legacy-" + id
			create(t, db, u)
			m := store.Member{User: *u}
			if i%3 != 2 {
				pw := newPassword(u)
				pw.PasswordHash = "$2b$10$" + id
				pw.PasswordFormat = "bcrypt"
				create(t, db, pw)
				m.Password = pw
			}
			for k := range i % 3 {
				pk := newPasskey(u)
				pk.CreatedAt = t0.Add(time.Duration(k) * time.Hour)
				pk.UpdatedAt = pk.CreatedAt
				pk.LastUsedAt = pk.CreatedAt.Add(time.Minute)
				pk.SignCount = uint32(k + 7)
				pk.AAGUID = randomBytes(16)
				pk.Transports = []string{"internal", "hybrid"}
				pk.Attachment = "platform"
				pk.BackupEligible, pk.BackupState = true, k == 0
				pk.UserHandle = randomBytes(16)
				create(t, db, pk)
				m.Passkeys = append(m.Passkeys, *pk)
			}
			want[id] = m
		}
		for _, size := range []int{1, 2, 3, len(ids), 1000} {
			got := walk(t, db, size)
			if len(got) != len(ids) {
				t.Fatalf("page size %d: %d members, want %d", size, len(got), len(ids))
			}
			seen := map[string]bool{}
			for _, m := range got {
				if seen[m.User.ID] {
					t.Fatalf("page size %d: member %q yielded twice", size, m.User.ID)
				}
				seen[m.User.ID] = true
				w := want[m.User.ID]
				// Derived fields are not read by the export.
				w.User.HasPassword, w.User.PasskeyCount = false, 0
				same(t, "member "+m.User.ID, m, w)
			}
		}
	})
}

func TestEachMemberOnAnEmptyDatabaseYieldsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		if got := walk(t, db, 10); len(got) != 0 {
			t.Fatalf("yielded %d members from an empty database", len(got))
		}
	})
}

func TestEachMemberStopsAtTheCallersError(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		for range 5 {
			createUser(t, db)
		}
		stop := errors.New("disk full")
		calls := 0
		err := db.EachMember(t.Context(), 2, func(*store.Member) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 3 {
			t.Fatalf("err = %v after %d calls, want the caller's error after 3", err, calls)
		}
	})
}

// TestEachMemberReadsOneSnapshot writes while the walk is between pages: a
// member who signs up and a passkey added to a member not yet yielded must
// not appear, so an export is the database at one instant.
func TestEachMemberReadsOneSnapshot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		first, last := newUser(), newUser()
		first.ID, last.ID = "u-1", "u-3"
		create(t, db, first, last)
		var got []store.Member
		err := db.EachMember(t.Context(), 1, func(m *store.Member) error {
			got = append(got, *m)
			if m.User.ID != first.ID {
				return nil
			}
			late := newUser()
			late.ID = "u-2"
			create(t, db, late, newPasskey(last), newPassword(last))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range got {
			ids = append(ids, m.User.ID)
		}
		if len(got) != 2 || got[1].User.ID != last.ID {
			t.Fatalf("yielded %v, want u-1 and u-3 only", ids)
		}
		if got[1].Password != nil || len(got[1].Passkeys) != 0 {
			t.Errorf("credentials added during the walk were exported: password %v, %d passkeys", got[1].Password != nil, len(got[1].Passkeys))
		}
		if n := len(walk(t, db, 1)); n != 3 {
			t.Errorf("a later walk yielded %d members, want 3", n)
		}
	})
}

// A member whose password credential exists is exported with it even when
// its hash format was never recorded (rows from before formats were stored).
func TestEachMemberExportsAPasswordWithoutFormat(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		u := createUser(t, db)
		pw := newPassword(u)
		pw.PasswordFormat = ""
		create(t, db, pw)
		got := walk(t, db, 0)
		if len(got) != 1 || got[0].Password == nil || got[0].Password.PasswordHash != pw.PasswordHash || got[0].Password.PasswordFormat != "" {
			t.Fatalf("got %+v", got)
		}
	})
}

// Passkeys made in the same millisecond come in credential id order, which
// survives an import, so export → import → export gives the same file.
func TestEachMemberOrdersSameTimePasskeysByCredentialID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		u := createUser(t, db)
		// Row ids ascend, credential ids descend.
		for i, id := range []string{"c-1", "c-2", "c-3"} {
			pk := newPasskey(u)
			pk.ID = id
			pk.CredentialID = []byte{byte(9 - i), 0xff}
			create(t, db, pk)
		}
		got := walk(t, db, 0)[0].Passkeys
		if len(got) != 3 {
			t.Fatalf("%d passkeys", len(got))
		}
		for i := 1; i < len(got); i++ {
			if string(got[i-1].CredentialID) > string(got[i].CredentialID) {
				t.Fatalf("passkeys not in credential id order: %x", [][]byte{got[0].CredentialID, got[1].CredentialID, got[2].CredentialID})
			}
		}
	})
}

package store_test

import (
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/testdb"
)

// sessionIDs returns the ids of ss, in order.
func sessionIDs(ss []account.Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)

		t.Run("a session round-trips with its member", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			create(t, db, newPassword(u), newPasskey(u))
			s := newSession(u, t0)
			s.AuthMethod = account.MethodSignup
			s.AuthenticatedAt = t0.Add(-time.Second)
			s.LastSeenAt = t0.Add(time.Minute)
			s.UserAgent = `Mozilla/5.0 "'; DROP TABLE sessions; --" 🔑 \`
			s.IP = "2001:db8::1"
			create(t, db, s)
			got, err := db.FindSessionByToken(t.Context(), s.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			wantUser := *u
			wantUser.HasPassword, wantUser.PasskeyCount = true, 1
			same(t, "FindSessionByToken", got, account.SessionWithUser{Session: *s, User: wantUser})
		})

		t.Run("an unknown token is not found", func(t *testing.T) {
			t.Parallel()
			create(t, db, newSession(createUser(t, db), t0))
			for _, token := range [][]byte{randomBytes(32), nil, {0}} {
				sw, err := db.FindSessionByToken(t.Context(), token)
				wantCode(t, err, account.ENotFound)
				if sw != nil {
					t.Errorf("returned a session with the error: %+v", sw)
				}
			}
		})

		t.Run("a session for a member who does not exist is refused", func(t *testing.T) {
			t.Parallel()
			s := newSession(&account.User{ID: "u-missing"}, t0)
			if _, err := db.CreateSession(t.Context(), s); err == nil {
				t.Fatal("CreateSession succeeded")
			}
		})

		t.Run("says how many other sessions the member has", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			for want := range 3 {
				got, err := db.CreateSession(t.Context(), newSession(u, t0))
				if err != nil || got != want {
					t.Fatalf("session %d: others %d (%v), want %d", want+1, got, err, want)
				}
			}
		})

		t.Run("a token hash belongs to one session only", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			first := newSession(u, t0)
			create(t, db, first)
			second := newSession(u, t0)
			second.TokenHash = first.TokenHash
			if _, err := db.CreateSession(t.Context(), second); err == nil {
				t.Fatal("CreateSession with a token hash in use succeeded")
			}
		})

		t.Run("touching a session moves only its last use", func(t *testing.T) {
			t.Parallel()
			u := createUser(t, db)
			s, other := newSession(u, t0), newSession(u, t0)
			create(t, db, s, other)
			at := t0.Add(7 * time.Minute)
			if err := db.TouchSession(t.Context(), s.ID, at); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindSessionByToken(t.Context(), s.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			want := *s
			want.LastSeenAt = at
			same(t, "the touched session", got.Session, want)
			got, err = db.FindSessionByToken(t.Context(), other.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "the other session", got.Session, *other)
		})

		t.Run("touching a session deleted meanwhile does nothing", func(t *testing.T) {
			t.Parallel()
			if err := db.TouchSession(t.Context(), "s-missing", t0); err != nil {
				t.Errorf("TouchSession: %v", err)
			}
		})

		t.Run("a member's sessions are listed newest first", func(t *testing.T) {
			t.Parallel()
			u, other := createUser(t, db), createUser(t, db)
			oldest, middle, newest := newSession(u, t0), newSession(u, t0.Add(time.Minute)), newSession(u, t0.Add(time.Hour))
			create(t, db, middle, newSession(other, t0.Add(2*time.Hour)), oldest, newest)
			got, err := db.ListSessions(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "ListSessions", got, []account.Session{*newest, *middle, *oldest})
		})

		t.Run("a member without sessions lists none", func(t *testing.T) {
			t.Parallel()
			got, err := db.ListSessions(t.Context(), createUser(t, db).ID)
			if err != nil || len(got) != 0 {
				t.Errorf("ListSessions = %v, %v; want none", sessionIDs(got), err)
			}
		})
	})
}

func TestDeleteSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name     string
			owner    func(mine, theirs *account.User) string // whose id is passed
			target   func(mine, theirs *account.Session) string
			wantCode account.Code // "" for success
			gone     bool         // whether my session is gone
		}{
			{"deletes the member's own session",
				func(mine, _ *account.User) string { return mine.ID },
				func(mine, _ *account.Session) string { return mine.ID }, "", true},
			{"does not delete another member's session and says not found",
				func(mine, _ *account.User) string { return mine.ID },
				func(_, theirs *account.Session) string { return theirs.ID }, account.ENotFound, false},
			{"does not delete a session for a member who is not its owner",
				func(_, theirs *account.User) string { return theirs.ID },
				func(mine, _ *account.Session) string { return mine.ID }, account.ENotFound, false},
			{"says not found for a session that does not exist",
				func(mine, _ *account.User) string { return mine.ID },
				func(*account.Session, *account.Session) string { return "s-missing" }, account.ENotFound, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				me, them := createUser(t, db), createUser(t, db)
				mine, theirs := newSession(me, t0), newSession(them, t0)
				create(t, db, mine, theirs)
				err := db.DeleteSession(t.Context(), tt.owner(me, them), tt.target(mine, theirs))
				if tt.wantCode == "" {
					if err != nil {
						t.Fatalf("DeleteSession: %v", err)
					}
				} else {
					wantCode(t, err, tt.wantCode)
				}
				_, err = db.FindSessionByToken(t.Context(), mine.TokenHash)
				if tt.gone {
					wantCode(t, err, account.ENotFound)
				} else if err != nil {
					t.Errorf("my session: %v", err)
				}
				if _, err := db.FindSessionByToken(t.Context(), theirs.TokenHash); err != nil {
					t.Errorf("their session: %v", err)
				}
			})
		}
	})
}

func TestDeleteUserSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database)
		tests := []struct {
			name string
			n    int
		}{
			{"deletes every session of a member", 3},
			{"deletes the only session of a member", 1},
			{"deletes nothing for a member without sessions", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u, other := createUser(t, db), createUser(t, db)
				for i := range tt.n {
					create(t, db, newSession(u, t0.Add(time.Duration(i)*time.Second)))
				}
				create(t, db, newSession(other, t0))
				n, err := db.DeleteUserSessions(t.Context(), u.ID)
				if err != nil || n != tt.n {
					t.Fatalf("DeleteUserSessions = %d, %v; want %d", n, err, tt.n)
				}
				for _, c := range []struct {
					id   string
					want int
				}{{u.ID, 0}, {other.ID, 1}} {
					ss, err := db.ListSessions(t.Context(), c.id)
					if err != nil || len(ss) != c.want {
						t.Errorf("ListSessions(%s) = %v, %v; want %d", c.id, sessionIDs(ss), err, c.want)
					}
				}
			})
		}
	})
}

func TestDeleteExpiredSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		db := open(t, database) // its own database: the delete spans every member
		now := t0
		idleBefore := now.Add(-time.Hour)
		tests := []struct {
			name              string
			lastSeen, expires time.Time
			wantGone          bool
		}{
			{"deletes a session that expired an hour ago", now.Add(-time.Minute), now.Add(-time.Hour), true},
			{"deletes a session that expires exactly now", now.Add(-time.Minute), now, true},
			{"keeps a session that expires a millisecond from now", now.Add(-time.Minute), now.Add(time.Millisecond), false},
			{"deletes a session idle since before the idle limit", idleBefore.Add(-time.Millisecond), now.Add(time.Hour), true},
			{"keeps a session last seen exactly at the idle limit", idleBefore, now.Add(time.Hour), false},
			{"keeps an active session", now, now.Add(30 * 24 * time.Hour), false},
			{"deletes a session both idle and expired once", idleBefore.Add(-time.Hour), now.Add(-time.Hour), true},
		}
		u := createUser(t, db)
		sessions := make([]*account.Session, len(tests))
		wantN := 0
		for i, tt := range tests {
			s := newSession(u, now.Add(-40*24*time.Hour))
			s.LastSeenAt, s.ExpiresAt = tt.lastSeen, tt.expires
			create(t, db, s)
			sessions[i] = s
			if tt.wantGone {
				wantN++
			}
		}
		n, err := db.DeleteExpiredSessions(t.Context(), now, idleBefore)
		if err != nil {
			t.Fatal(err)
		}
		if n != wantN {
			t.Errorf("DeleteExpiredSessions = %d, want %d", n, wantN)
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.FindSessionByToken(t.Context(), sessions[i].TokenHash)
				if tt.wantGone {
					wantCode(t, err, account.ENotFound)
				} else if err != nil {
					t.Errorf("FindSessionByToken: %v", err)
				}
			})
		}
		t.Run("a second run finds nothing more to delete", func(t *testing.T) {
			n, err := db.DeleteExpiredSessions(t.Context(), now, idleBefore)
			if err != nil || n != 0 {
				t.Errorf("DeleteExpiredSessions = %d, %v; want 0", n, err)
			}
		})
	})
}

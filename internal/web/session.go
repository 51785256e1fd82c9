package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// getSession is GET /api/session.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	acc, probations, err := s.passkeys.Standing(r.Context(), sw)
	if err != nil {
		return err
	}
	recovery, err := s.pendingSupport(r, sw.User.ID)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, struct {
		User    apijson.User     `json:"user"`
		Session apijson.Session  `json:"session"`
		Signals *apijson.Signals `json:"signals"`
		Notices []apijson.Notice `json:"notices"`
	}{apijson.NewUser(sw.User), apijson.NewSession(sw.Session, sw.Session.ID), apijson.NewSignals(acc), apijson.NewNotices(probations, recovery)})
	return nil
}

// deleteSession is DELETE /api/session: sign out. Without a live session it
// still clears the cookie and answers 204, so signing out is idempotent.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err == nil {
		err = s.sessions.Signout(r.Context(), &sw.Session, s.visitors.Client(r))
	}
	if err != nil && !account.IsCode(err, account.EUnauthenticated) {
		return err
	}
	s.visitors.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listSessions is GET /api/sessions[?limit=N&cursor=C]: the member's live
// sessions, newest first, at most limit (1 to session.MaxSessions, the
// default) at a time; next is the cursor of the following page, or null.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
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
			return x.CreatedAt.Before(cursor.CreatedAt) || x.CreatedAt.Equal(cursor.CreatedAt) && x.ID > cursor.ID
		})
		if i < 0 {
			i = len(list)
		}
		list = list[i:]
	}
	var next *string
	if len(list) > limit {
		list = list[:limit]
		c := apijson.Cursor{CreatedAt: list[limit-1].CreatedAt, ID: list[limit-1].ID}.String()
		next = &c
	}
	out := make([]apijson.Session, len(list))
	for i, x := range list {
		out[i] = apijson.NewSession(x, sw.Session.ID)
	}
	respond.JSON(w, http.StatusOK, struct {
		Sessions []apijson.Session `json:"sessions"`
		Next     *string           `json:"next"`
	}{out, next})
	return nil
}

// pageParams reads ?limit= (1 to session.MaxSessions, default the maximum)
// and ?cursor= (nil when absent) of the list of sessions.
func pageParams(r *http.Request) (limit int, cursor *apijson.Cursor, err error) {
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
	c, ok := apijson.ParseCursor(v)
	if !ok {
		return 0, nil, &account.Error{Code: account.EInvalidRequest, Field: "cursor", Detail: "not a cursor this server gave"}
	}
	return limit, &c, nil
}

// revokeSession is DELETE /api/sessions/{id}.
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.sessions.Revoke(r.Context(), sw.User.ID, id, s.visitors.Client(r)); err != nil {
		return err
	}
	if id == sw.Session.ID {
		s.visitors.ClearSession(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeAllSessions is DELETE /api/sessions: sign out everywhere, this
// browser included.
func (s *Server) revokeAllSessions(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	if _, err := s.members.RevokeAllSessions(r.Context(), sw.User.ID, s.visitors.Client(r)); err != nil {
		return err
	}
	s.visitors.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signoutForm is POST /signout.
func (s *Server) signoutForm(w http.ResponseWriter, r *http.Request) error {
	if sw, err := s.visitors.Authenticate(r); err == nil {
		if err := s.sessions.Signout(r.Context(), &sw.Session, s.visitors.Client(r)); err != nil {
			return err
		}
	}
	s.visitors.ClearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// revokeSessionForm is POST /account/sessions/{id}/revoke: one of the
// member's browsers signed out; this one goes to /signin.
func (s *Server) revokeSessionForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.sessions.Revoke(r.Context(), sw.User.ID, id, s.visitors.Client(r)); err != nil && !account.IsCode(err, account.ENotFound) {
		return err
	}
	if id == sw.Session.ID {
		s.visitors.ClearSession(w)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// revokeAllForm is POST /account/sessions/revoke-all: every browser of the
// member signed out, this one too.
func (s *Server) revokeAllForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	if _, err := s.members.RevokeAllSessions(r.Context(), sw.User.ID, s.visitors.Client(r)); err != nil {
		return err
	}
	s.visitors.ClearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

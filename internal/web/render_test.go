package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

func TestTheStylesheetIsServed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		r := s.client().Do(http.MethodGet, "/static/style.css", nil, nil)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q, want text/css", ct)
		}
		if len(r.Body) < 100 {
			t.Errorf("stylesheet of %d bytes", len(r.Body))
		}
		wantStatus(t, s.client().Do(http.MethodGet, "/static/nope.css", nil, nil), http.StatusNotFound)
	})
}

package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// exportAccount is GET /api/account/export: the member's own data as one
// JSON file (export.Export), for a session fresh for it — for a member with
// a passkey, a passkey sign-in or step-up within the window. The answer is
// an attachment, so "Download my data" on /account saves it as a file.
func (s *Server) exportAccount(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	ex, err := s.exports.Export(r.Context(), sw, s.visitors.Client(r))
	if err != nil {
		return err
	}
	name := "account-data-" + ex.ExportedAt.UTC().Format("2006-01-02") + ".json"
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	respond.JSON(w, http.StatusOK, apijson.NewExport(ex, sw.Session.ID))
	return nil
}

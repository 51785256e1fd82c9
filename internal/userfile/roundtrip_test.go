package userfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/keyshift/keyshift/internal/userfile"
)

// TestWhatTheWriterWritesTheReaderReads writes members in each format and
// reads them back with the import's reader: the same rows, field by field.
func TestWhatTheWriterWritesTheReaderReads(t *testing.T) {
	u, pw, pks := member()
	full, err := userfile.FromAccount(u, pw, pks)
	if err != nil {
		t.Fatal(err)
	}
	rows := []userfile.Row{full, {Email: "bob@example.com", Name: `Bob "the, builder" <b>`}, {Email: "eve@example.com", EmailVerified: true, PasswordHash: "$P$BkEyShIfTKzwDUVDWD3aB3EJ1c6CXM0"}}
	for _, f := range []userfile.Format{userfile.JSONLines, userfile.CSV} {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			w, err := userfile.NewWriter(&b, string(f))
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if err := w.Write(&rows[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r, err := userfile.NewReader(&b, f, userfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					if i != len(rows) {
						t.Fatalf("read %d rows, wrote %d", i, len(rows))
					}
					return
				}
				if err != nil {
					t.Fatalf("row %d: %v", i+1, err)
				}
				got, _ := json.Marshal(rec.Row)
				want, _ := json.Marshal(rows[i])
				if !bytes.Equal(got, want) {
					t.Errorf("row %d:\nread  %s\nwrote %s", i+1, got, want)
				}
			}
		})
	}
}

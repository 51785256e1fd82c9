package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestDocExamplesImport imports the example files of docs/import.md, so the
// documentation cannot drift from what the importer accepts.
func TestDocExamplesImport(t *testing.T) {
	doc, err := os.ReadFile("../../docs/import.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(lang string) string {
		_, rest, ok := strings.Cut(string(doc), "\n```"+lang+"\n")
		if !ok {
			t.Fatalf("docs/import.md has no %s example", lang)
		}
		text, _, _ := strings.Cut(rest, "```")
		return text
	}
	// The JSON example is wrapped for reading: one object per member, made
	// one line each here, as in a file.
	var jsonl bytes.Buffer
	dec := json.NewDecoder(strings.NewReader(block("json")))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the JSON example: %v", err)
		}
		if err := json.Compact(&jsonl, v); err != nil {
			t.Fatal(err)
		}
		jsonl.WriteByte('\n')
	}
	dir := t.TempDir()
	files := map[string]string{"members.jsonl": jsonl.String(), "members.csv": block("csv")}
	want := map[string]importer.Counts{
		"members.jsonl": {Read: 3, Imported: 3, Passkeys: 1},
		"members.csv":   {Read: 2, Imported: 2, Passkeys: 1},
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			db := openDB(t, "sqlite:"+testdb.SQLitePath(t))
			c := run(t, db, importer.Options{Path: filepath.Join(dir, name)}).Counts
			w := want[name]
			if c.Read != w.Read || c.Imported != w.Imported || c.Passkeys != w.Passkeys || c.Rejected != 0 {
				t.Errorf("counts %+v, want %d read, %d imported, %d passkeys, none rejected", c, w.Read, w.Imported, w.Passkeys)
			}
		})
	}
}

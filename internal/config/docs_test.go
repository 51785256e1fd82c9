package config

import (
	"os"
	"strings"
	"testing"
)

const docsPath = "../../docs/configuration.md"

// exampleYAML returns the first ```yaml block of the configuration docs.
func exampleYAML(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "\n```yaml\n")
	block, _, closed := strings.Cut(rest, "\n```")
	if !ok || !closed {
		t.Fatalf("%s has no closed ```yaml block", docsPath)
	}
	return block + "\n"
}

func TestTheDocumentedExampleIsValid(t *testing.T) {
	t.Parallel()
	if _, err := Load(writeFile(t, exampleYAML(t)), env(nil)); err != nil {
		t.Errorf("the example in %s does not load:\n%v", docsPath, err)
	}
}

func TestTheDocumentedExampleSetsEveryKey(t *testing.T) {
	t.Parallel()
	entries, _ := readYAML([]byte(exampleYAML(t)), docsPath)
	set := map[string]bool{}
	for _, e := range entries {
		set[e.setting.key] = true
	}
	for _, s := range settings {
		if !set[s.key] {
			t.Errorf("the example in %s does not set %s", docsPath, s.key)
		}
	}
}

func TestTheDocsListEveryKeyWithItsVariable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		row := "| `" + s.key + "` | `" + s.env + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("%s has no table row starting %s", docsPath, row)
		}
	}
}

package web

import (
	"embed"
	"encoding/json"
	"fmt"
)

//go:embed i18n/*.json
var catalogFS embed.FS

// catalog holds every string a person reads, for one language, so pages can
// be translated without touching code: add i18n/<lang>.json.
type catalog struct {
	lang     string
	messages map[string]string
}

func loadCatalog(lang string) (*catalog, error) {
	b, err := catalogFS.ReadFile("i18n/" + lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("message catalog %q: %w", lang, err)
	}
	c := &catalog{lang: lang}
	if err := json.Unmarshal(b, &c.messages); err != nil {
		return nil, fmt.Errorf("message catalog %q: %w", lang, err)
	}
	return c, nil
}

func (c *catalog) lookup(key string) (string, bool) {
	m, ok := c.messages[key]
	return m, ok
}

// T returns the message for key, formatted with args. A missing key shows
// the key itself, which a test over every template catches.
func (c *catalog) T(key string, args ...any) string {
	m, ok := c.messages[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

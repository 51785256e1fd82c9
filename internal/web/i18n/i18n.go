// Package i18n holds every string a person reads on keyshift's pages and in
// its API's error messages, one catalog per language, so pages can be
// translated without touching code: add <lang>.json beside en.json.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
)

//go:embed *.json
var catalogFS embed.FS

// Catalog is the messages of one language.
type Catalog struct {
	lang     string
	messages map[string]string
}

// Load reads the catalog of lang ("en").
func Load(lang string) (*Catalog, error) {
	b, err := catalogFS.ReadFile(lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("message catalog %q: %w", lang, err)
	}
	c := &Catalog{lang: lang}
	if err := json.Unmarshal(b, &c.messages); err != nil {
		return nil, fmt.Errorf("message catalog %q: %w", lang, err)
	}
	return c, nil
}

// Lang is the catalog's language, for the pages' lang attribute.
func (c *Catalog) Lang() string { return c.lang }

// Lookup returns the message for key, and whether there is one.
func (c *Catalog) Lookup(key string) (string, bool) {
	m, ok := c.messages[key]
	return m, ok
}

// T returns the message for key, formatted with args. A missing key shows
// the key itself, which a test over every template catches.
func (c *Catalog) T(key string, args ...any) string {
	m, ok := c.messages[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

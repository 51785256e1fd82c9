package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// The file is read as a yaml.Node tree and every key is checked against the
// settings table, rather than decoded into a struct with KnownFields(true): that
// is just as strict, and it names an unknown key in full ("session.idle_timout")
// with its line, reports every unknown key rather than one, and leaves the
// settings table the only list of keys.

// entry is one value found in the file.
type entry struct {
	setting *setting
	value   string // list items joined with ","
	line    int
}

// applyYAML sets the values found in a YAML document and reports what is wrong
// with it. name says where the document came from, for messages.
func (c *Config) applyYAML(data []byte, name string) Problems {
	entries, ps := readYAML(data, name)
	for _, e := range entries {
		where := fmt.Sprintf("%s:%d", name, e.line)
		ps.addParse(e.setting.key, e.setting.set(c, e.value), where)
	}
	return ps
}

// readYAML returns the values in a YAML document. An empty document (or one
// holding only comments) has none; a key set to null is left out, so it keeps
// its default.
func readYAML(data []byte, name string) ([]entry, Problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Problems{{Msg: fmt.Sprintf("%s: %v", name, err)}}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, Problems{{Msg: name + ": holds more than one YAML document; keyshift reads exactly one"}}
	}
	r := yamlReader{name: name, seen: map[string]int{}}
	r.root(doc.Content[0])
	return r.entries, r.problems
}

// yamlReader walks a document, collecting entries and problems.
type yamlReader struct {
	name     string
	seen     map[string]int // key → line, to catch a key given twice
	entries  []entry
	problems Problems
}

func (r *yamlReader) root(n *yaml.Node) {
	n = resolve(n)
	switch {
	case isNull(n):
	case n.Kind == yaml.MappingNode:
		r.mapping("", n)
	default:
		r.problems.add("", fmt.Sprintf("%s:%d: the document must be a mapping of keys like `listen: 127.0.0.1:8080`", r.name, n.Line))
	}
}

func (r *yamlReader) mapping(prefix string, n *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		key := prefix + k.Value
		switch {
		case r.duplicate(key, k.Line):
		case sections[key]:
			r.section(key, v)
		default:
			r.value(key, k.Line, v)
		}
	}
}

func (r *yamlReader) duplicate(key string, line int) bool {
	first, dup := r.seen[key]
	if dup {
		r.problems.addf(key, "is set twice (%s, lines %d and %d)", r.name, first, line)
	} else {
		r.seen[key] = line
	}
	return dup
}

func (r *yamlReader) section(key string, v *yaml.Node) {
	switch {
	case isNull(v):
	case v.Kind == yaml.MappingNode:
		r.mapping(key+".", v)
	default:
		r.problems.addf(key, "must be a mapping of keys (%s:%d)", r.name, v.Line)
	}
}

func (r *yamlReader) value(key string, line int, v *yaml.Node) {
	s, ok := settingByKey[key]
	if !ok {
		r.problems.addf(key, "unknown key (%s:%d)%s", r.name, line, suggest(key))
		return
	}
	if isNull(v) {
		return
	}
	val, err := scalarText(v, s.list)
	if err != nil {
		r.problems.addf(key, "%v (%s:%d)", err, r.name, line)
		return
	}
	r.entries = append(r.entries, entry{setting: s, value: val, line: line})
}

// scalarText returns a scalar's text, or a sequence's items joined with "," for
// a list setting (an IP or CIDR never holds a comma).
func scalarText(v *yaml.Node, list bool) (string, error) {
	if !list {
		if v.Kind != yaml.ScalarNode {
			return "", errors.New("must be a single value, not a list or mapping")
		}
		return strings.TrimSpace(v.Value), nil
	}
	if v.Kind != yaml.SequenceNode {
		return "", errors.New("must be a list like [10.0.0.0/8, 192.0.2.1]")
	}
	items := make([]string, len(v.Content))
	for i, it := range v.Content {
		if it = resolve(it); it.Kind != yaml.ScalarNode {
			return "", errors.New("must be a list like [10.0.0.0/8, 192.0.2.1]")
		}
		items[i] = it.Value
	}
	return strings.Join(items, ","), nil
}

// sections are the keys that hold other keys: "session", "password", "log".
var sections = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range settings {
		if head, _, ok := strings.Cut(s.key, "."); ok {
			m[head] = true
		}
	}
	return m
}()

// suggest names the known key an unknown one was probably meant to be, for the
// common slip of writing a nested key at the top level.
func suggest(key string) string {
	_, last, _ := strings.Cut(key, ".")
	if last == "" {
		last = key
	}
	for _, s := range settings {
		if strings.HasSuffix(s.key, "."+last) && s.key != key {
			return fmt.Sprintf("; did you mean %s?", s.key)
		}
	}
	return ""
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration. Key is the dotted YAML key
// it concerns (for example "session.idle_timeout"), or "" for a problem with
// the file as a whole; Msg says what is wrong, in words for an operator.
type Problem struct {
	Key, Msg string
}

// String renders the problem with its environment variable, so the operator
// finds the setting whichever way they configure keyshift.
func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	if s, ok := settingByKey[p.Key]; ok {
		return fmt.Sprintf("%s (%s): %s", p.Key, s.env, p.Msg)
	}
	return p.Key + ": " + p.Msg
}

// Problems is every problem found at once; it is the error Load and Validate
// return, so a caller can range over it with errors.As.
type Problems []Problem

// Error puts one problem on each line, like
// `config: origin (KEYSHIFT_ORIGIN): "ftp://x" is not an http(s) URL ...`.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = "config: " + p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(key, msg string) {
	*ps = append(*ps, Problem{Key: key, Msg: msg})
}

func (ps *Problems) addf(key, format string, args ...any) {
	ps.add(key, fmt.Sprintf(format, args...))
}

// addParse records a value that could not be read, saying where it came from,
// since the same key may be set in the file and in the environment.
func (ps *Problems) addParse(key string, err error, where string) {
	if err != nil {
		ps.addf(key, "%v (%s)", err, where)
	}
}

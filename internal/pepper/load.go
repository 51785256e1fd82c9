package pepper

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Source says where Load finds the pepper.
type Source struct {
	// Value is the pepper itself (pepper, KEYSHIFT_PEPPER).
	Value string
	// File is a file holding it (pepper_file, KEYSHIFT_PEPPER_FILE).
	File string
	// Previous are the peppers it replaced (previous_peppers), still
	// accepted for what was made under them.
	Previous []string
	// SQLitePath is the database file when the database is SQLite, "" for
	// PostgreSQL. With neither Value nor File, the pepper lives beside it in
	// SQLitePath + ".pepper": a copy or dump of the database alone then does
	// not carry it.
	SQLitePath string
	// Create lets Load make that file, mode 0600, when it does not exist.
	// The server passes true; a reader such as `keyshift admin mail` passes
	// false and gets ErrNoPepper instead.
	Create bool
	// DevFallback, when set, gives a pepper where none is configured and no
	// file can hold one (PostgreSQL): dev mode keeps one in the database,
	// which defeats the pepper's point and is fine only there.
	DevFallback func() ([]byte, error)
}

// Loaded is what Load found, with where it came from for the start-up log.
type Loaded struct {
	Set
	// From says where: "pepper", "pepper_file", the generated file's
	// path, or "database (dev mode)".
	From string
	// Created is true when Load made the file beside the SQLite database.
	Created bool
	// Tightened is true when Load found that file readable by others and
	// made it 0600.
	Tightened bool
}

// ErrNoPepper is Load's error when no pepper is set and none can be kept
// beside the database.
var ErrNoPepper = errors.New("no pepper is set. PostgreSQL is shared by every node, so keyshift cannot make one by itself: " +
	"generate one (openssl rand -base64 32) and give the same value to every node as KEYSHIFT_PEPPER or in a file named by " +
	"KEYSHIFT_PEPPER_FILE, kept apart from the database and its backups (docs/security.md, \"The pepper\"). " +
	"For a throw-away development database, dev: true keeps one in the database instead")

// FileSuffix is added to a SQLite database's path to name the file its
// pepper is kept in.
const FileSuffix = ".pepper"

// Load finds the pepper src describes. The value wins over the file; with
// neither, a SQLite database's pepper lives in a file beside it (made on
// first start when src.Create), and PostgreSQL needs one configured.
func Load(src Source) (Loaded, error) {
	var l Loaded
	var err error
	switch {
	case src.Value != "":
		l.From = "pepper"
		l.Current, err = Parse(src.Value)
	case src.File != "":
		l.From = "pepper_file"
		l.Current, err = readFile(src.File)
	case src.SQLitePath == ":memory:":
		// An in-memory database dies with the process; so may its pepper.
		l.From = "memory"
		l.Current, err = generate()
	case src.SQLitePath != "":
		l, err = besideDatabase(src.SQLitePath+FileSuffix, src.Create)
	case src.DevFallback != nil:
		l.From = "database (dev mode)"
		var b []byte
		if b, err = src.DevFallback(); err == nil {
			l.Current, err = New(b)
		}
	default:
		return Loaded{}, ErrNoPepper
	}
	if err != nil {
		return Loaded{}, err
	}
	for i, s := range src.Previous {
		p, err := Parse(s)
		if err != nil {
			return Loaded{}, fmt.Errorf("previous_peppers entry %d: %w", i+1, err)
		}
		l.Previous = append(l.Previous, p)
	}
	return l, nil
}

func readFile(path string) (Pepper, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Pepper{}, fmt.Errorf("reading the pepper file: %w", err)
	}
	p, err := Parse(string(b))
	if err != nil {
		return Pepper{}, fmt.Errorf("the pepper file %s: %w", path, err)
	}
	return p, nil
}

func generate() (Pepper, error) {
	b := make([]byte, MinBytes)
	if _, err := rand.Read(b); err != nil {
		return Pepper{}, err
	}
	return New(b)
}

// besideDatabase reads the pepper file of a SQLite database, making it when
// it is missing and create is set. Two processes starting together on one
// file agree: the file appears whole (a hard link of a finished temporary
// file) or not at all, and the one that loses the race reads the winner's.
func besideDatabase(path string, create bool) (Loaded, error) {
	l := Loaded{From: path}
	tightened, err := tighten(path)
	if err == nil {
		l.Tightened = tightened
		l.Current, err = readFile(path)
		return l, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Loaded{}, err
	}
	if !create {
		return Loaded{}, fmt.Errorf("%w (%s does not exist)", ErrNoPepper, path)
	}
	b := make([]byte, MinBytes)
	if _, err := rand.Read(b); err != nil {
		return Loaded{}, err
	}
	if err := writeNew(path, []byte(base64.StdEncoding.EncodeToString(b)+"\n")); errors.Is(err, fs.ErrExist) {
		l.Current, err = readFile(path)
		return l, err
	} else if err != nil {
		return Loaded{}, fmt.Errorf("making the pepper file %s: %w", path, err)
	}
	l.Created = true
	l.Current, err = New(b)
	return l, err
}

// tighten makes an existing file 0600 when group or others may read it, and
// reports whether it did.
func tighten(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("making %s readable by its owner only: %w", path, err)
	}
	return true, nil
}

// writeNew creates path with content, mode 0600, failing with fs.ErrExist
// when it is already there.
func writeNew(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyshift-pepper-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// A file system without hard links: create exclusively instead.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	return errors.Join(err, f.Sync(), f.Close())
}

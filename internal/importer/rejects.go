package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
)

// reject is one line of the reject file.
type reject struct {
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Row is the line as in the file (absent when it was too long to keep),
	// so the operator can fix it and import the fixes. It may hold a
	// password hash: the file is the operator's alone (mode 0600).
	Row string `json:"row,omitempty"`
}

// rejectWriter appends rejects to the reject file.
type rejectWriter struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64 // rejects in the file
}

// openRejects creates (truncates) the reject file, mode 0600. When resuming
// it keeps the rejects of rows up to keepLine — those of committed batches —
// and drops any written for the batch that did not commit.
func openRejects(path string, keepLine int, resume bool) (*rejectWriter, error) {
	var kept [][]byte
	if resume {
		var err error
		if kept, err = readRejects(path, keepLine); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	// An older file keeps its mode through O_TRUNC; this one holds hashes.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	rw := &rejectWriter{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10)}
	for _, l := range kept {
		rw.w.Write(l)
		rw.w.WriteByte('\n')
		rw.n++
	}
	return rw, rw.w.Flush()
}

// readRejects returns the lines of an existing reject file whose line is at
// most keepLine. Lines it cannot read are dropped with the rest.
func readRejects(path string, keepLine int) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var r struct {
			Line int `json:"line"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Line > keepLine {
			break // written in line order: the rest is later still
		}
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out, sc.Err()
}

// write appends rejects and flushes them to the file (a process crash then
// loses none of a committed batch's).
func (rw *rejectWriter) write(rs []reject) error {
	enc := json.NewEncoder(rw.w)
	enc.SetEscapeHTML(false)
	for i := range rs {
		if err := enc.Encode(&rs[i]); err != nil {
			return err
		}
		rw.n++
	}
	return rw.w.Flush()
}

// done closes the file and removes it when no row was rejected, so a file
// left over from an earlier run cannot be mistaken for this one's. It
// returns how many rejects the file holds.
func (rw *rejectWriter) done() (int64, error) {
	err := rw.close()
	if err == nil && rw.n == 0 {
		err = os.Remove(rw.path)
	}
	return rw.n, err
}

func (rw *rejectWriter) close() error {
	if rw.f == nil {
		return nil
	}
	err := errors.Join(rw.w.Flush(), rw.f.Close())
	rw.f = nil
	return err
}

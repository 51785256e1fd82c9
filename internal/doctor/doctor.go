// Package doctor checks a keyshift deployment before members find what is
// wrong with it: the configuration (everything serve would refuse, and what
// it accepts but should not be in production), the mail servers (reachable,
// STARTTLS offered and verified), the database (reachable, schema, clock)
// and the SQLite files' permissions. `keyshift doctor` prints the findings
// and exits 1 on any high one; `serve` logs the high ones at start.
//
// Nothing here changes anything: it reads, dials and asks. (cmd opens the
// database as `keyshift migrate --status` does, which makes SQLite files
// found readable by others private, as serve would; checkFiles has reported
// them before.)
package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/keyshift/keyshift/internal/config"
)

// Severity says how urgent a finding is.
type Severity string

const (
	// High: members are at risk or will be failed; a deployment pipeline
	// should stop (keyshift doctor exits 1).
	High Severity = "high"
	// Medium: works, but deserves a change.
	Medium Severity = "medium"
	// Info: worth knowing.
	Info Severity = "info"
)

var rank = map[Severity]int{High: 0, Medium: 1, Info: 2}

// Finding is one thing found, with what to do about it.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Problem  string   `json:"problem"`
	Fix      string   `json:"fix"`
}

// Database is what the checks ask of the configured database; keyshift's
// store provides it.
type Database interface {
	Ping(ctx context.Context) error
	// Versions are the schema's version and the latest this binary knows.
	Versions(ctx context.Context) (current, latest int, err error)
	// Time is the database server's clock, or ok false where the database
	// has no clock of its own (SQLite runs in this process).
	Time(ctx context.Context) (t time.Time, ok bool, err error)
}

// Input is what the checks read.
type Input struct {
	Config config.Config
	// LoadErr is config.Load's error: each of its problems is a finding.
	LoadErr error
	// Open opens the configured database without migrating it or changing
	// its files; nil skips the database checks.
	Open func(ctx context.Context) (Database, func() error, error)
	// Now is this machine's clock (time.Now when nil).
	Now func() time.Time
	// Timeout bounds each network check (5 s when zero).
	Timeout time.Duration
}

// Run runs every check and returns the findings, the most urgent first.
// A configuration config.Load refuses is reported problem by problem, and
// nothing else is checked: serve would not start, and the other checks need
// the values it refused.
func Run(ctx context.Context, in Input) []Finding {
	if in.Now == nil {
		in.Now = time.Now
	}
	if in.Timeout <= 0 {
		in.Timeout = 5 * time.Second
	}
	if in.LoadErr != nil {
		return configProblems(in.LoadErr)
	}
	fs := checkConfig(in.Config)
	fs = append(fs, checkMail(ctx, in.Config, in.Timeout)...)
	fs = append(fs, checkFiles(in.Config)...)
	if in.Open != nil {
		fs = append(fs, checkDatabase(ctx, in)...)
	}
	sort.SliceStable(fs, func(i, j int) bool { return rank[fs[i].Severity] < rank[fs[j].Severity] })
	return fs
}

// configProblems turns config.Load's refusal into findings.
func configProblems(err error) []Finding {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return []Finding{{Check: "config", Severity: High, Problem: err.Error(),
			Fix: "correct the configuration file (docs/configuration.md)"}}
	}
	fs := make([]Finding, 0, len(ps))
	for _, p := range ps {
		fix := "correct it (docs/configuration.md); keyshift serve refuses to start until then"
		if p.Key != "" {
			fix = "correct " + p.Key + " (docs/configuration.md); keyshift serve refuses to start until then"
		}
		fs = append(fs, Finding{Check: "config", Severity: High, Problem: p.String(), Fix: fix})
	}
	return fs
}

// AnyHigh reports whether a finding is high.
func AnyHigh(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == High {
			return true
		}
	}
	return false
}

// checkDatabase opens the database and checks it answers, its schema and
// its clock.
func checkDatabase(ctx context.Context, in Input) []Finding {
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	db, closeDB, err := in.Open(ctx)
	if err == nil {
		defer closeDB()
		err = db.Ping(ctx)
	}
	if err != nil {
		return []Finding{{Check: "database", Severity: High, Problem: "the database is unreachable: " + err.Error(),
			Fix: "check KEYSHIFT_DATABASE, that the server runs and that this machine may connect to it"}}
	}
	var fs []Finding
	cur, latest, err := db.Versions(ctx)
	switch {
	case err != nil:
		fs = append(fs, Finding{Check: "schema", Severity: High, Problem: "the schema's version cannot be read: " + err.Error(),
			Fix: "check that the database user may read the schema_migrations table"})
	case cur > latest:
		fs = append(fs, Finding{Check: "schema", Severity: High,
			Problem: fmt.Sprintf("the schema is at version %d, newer than this keyshift knows (%d): it refuses to start", cur, latest),
			Fix:     "run the keyshift that migrated it, or a newer one; never an older binary on a newer schema"})
	case cur < latest:
		fs = append(fs, Finding{Check: "schema", Severity: Medium,
			Problem: fmt.Sprintf("%d migrations are pending (schema at version %d of %d)", latest-cur, cur, latest),
			Fix:     "keyshift serve applies them at start; with several nodes run keyshift migrate once first"})
	}
	dbNow, ok, err := db.Time(ctx)
	if err != nil {
		fs = append(fs, Finding{Check: "clock", Severity: Medium, Problem: "the database's clock cannot be read: " + err.Error(),
			Fix: "check the database connection"})
	} else if ok {
		if skew := in.Now().Sub(dbNow); skew > 2*time.Second || skew < -2*time.Second {
			fs = append(fs, Finding{Check: "clock", Severity: High,
				Problem: fmt.Sprintf("this machine's clock is %s off the database's", skew.Round(time.Millisecond)),
				Fix:     "run NTP (chrony or systemd-timesyncd) on both: links, codes and sessions expire by these clocks"})
		}
	}
	return fs
}

package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/keyshift/keyshift/internal/userfile"
)

// TargetScenarioNames are the scenarios `bench --target` knows, in the
// order they run.
var TargetScenarioNames = []string{"passkey", "password", "session", "email"}

// PickScenarios reads a comma-separated list of TargetScenarioNames.
func PickScenarios(list string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		known := false
		for _, k := range TargetScenarioNames {
			known = known || k == n
		}
		if !known {
			return nil, fmt.Errorf("--scenarios: unknown scenario %q (known: %s)", n, strings.Join(TargetScenarioNames, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// TargetOptions say how the scenarios reach the server.
type TargetOptions struct {
	URL  string // the server's origin
	Seed uint64 // the seed the members were generated with (GenMembers)
	// SpreadIPs sends each request as from one of 4,096 addresses
	// (X-Forwarded-For), so that per-IP throttles do not answer 429.
	SpreadIPs bool
}

// TargetScenarios builds each scenario's operation over the generated
// members rows, already imported into the server's database: passkey
// sign-in with their synced passkeys (begin + finish), password sign-in of
// the members whose imported hash is keyshift's own Argon2id, validation of
// one session, and email sign-in starts for their addresses. A scenario
// the members cannot feed fails every call with the reason.
func TargetScenarios(ctx context.Context, o TargetOptions, rows []userfile.Row) (map[string]Scenario, error) {
	base := NewTarget(o.URL)
	var ipSeq atomic.Uint32
	client := func() *Target {
		if !o.SpreadIPs {
			return base
		}
		n := ipSeq.Add(1) % 4096
		return base.From(fmt.Sprintf("198.18.%d.%d", n/256, n%256))
	}
	passkeys, err := GenPasskeys(rows, o.Seed, o.URL)
	if err != nil {
		return nil, err
	}
	var passwords, emails []string
	for _, r := range rows {
		emails = append(emails, r.Email)
		if r.PasswordFormat == "argon2id" {
			passwords = append(passwords, r.Email)
		}
	}
	var next atomic.Uint64
	pick := func(n int) int { return int(next.Add(1) % uint64(n)) }
	out := map[string]Scenario{
		"email": {Name: "email sign-in start", Op: func(ctx context.Context) error {
			return client().EmailStart(ctx, emails[pick(len(emails))])
		}},
	}
	if len(passkeys) > 0 {
		out["passkey"] = Scenario{Name: "passkey sign-in", Op: func(ctx context.Context) error {
			return client().PasskeySignin(ctx, passkeys[pick(len(passkeys))])
		}}
	} else {
		out["passkey"] = noScenario("passkey sign-in", "no generated member has a synced passkey: raise --members")
	}
	if len(passwords) < 2 {
		out["password"] = noScenario("password sign-in", "fewer than two generated members have an Argon2id password: raise --members")
		out["session"] = noScenario("session check", "fewer than two generated members have an Argon2id password to sign in with: raise --members")
		return out, nil
	}
	// The session scenario's member is kept out of the password scenario:
	// thousands of sign-ins of one member would trim its oldest sessions
	// (the per-member cap), the checked one among them.
	checked, signers := passwords[0], passwords[1:]
	out["password"] = Scenario{Name: "password sign-in", Op: func(ctx context.Context) error {
		return client().Signin(ctx, signers[pick(len(signers))], GenPassword)
	}}
	cookie, err := client().SigninCookie(ctx, checked, GenPassword)
	if err != nil {
		return nil, fmt.Errorf("a session for the session scenario: %w", err)
	}
	out["session"] = Scenario{Name: "session check", Op: func(ctx context.Context) error {
		return base.Session(ctx, cookie)
	}}
	return out, nil
}

// noScenario fails every call with why.
func noScenario(name, why string) Scenario {
	return Scenario{Name: name, Op: func(context.Context) error { return fmt.Errorf("%s", why) }}
}

// TargetReport is what `bench --target --json` prints and `bench chart`
// reads.
type TargetReport struct {
	Target  string        `json:"target"`
	Members int           `json:"members"`
	CPUs    int           `json:"loadClientCpus"`
	Load    string        `json:"loadAverage"`
	Results []Measurement `json:"results"`
}

// Print writes the report as a table.
func (r TargetReport) Print(w io.Writer) {
	fmt.Fprintf(w, "keyshift bench --target %s: %d members, load client on %d CPUs, load average %s\n\n", r.Target, r.Members, r.CPUs, r.Load)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\tops/s\tp50 ms\tp95 ms\tp99 ms\terrors\t429s\t503s\tserver CPU ms/op\tPostgreSQL CPU ms/op\tserver peak RSS MiB\t")
	opt := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'f', 3, 64)
	}
	for _, m := range r.Results {
		rss := "–"
		if m.ServerPeakRSSMiB != nil {
			rss = strconv.FormatFloat(*m.ServerPeakRSSMiB, 'f', 0, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%s\t%s\t%s\t\n", m.Scenario, m.Concurrency, m.Rate, m.P50Ms, m.P95Ms, m.P99Ms,
			m.Errors-m.Throttled-m.Busy, m.Throttled, m.Busy, opt(m.ServerCPUMs), opt(m.PostgresCPUMs), rss)
	}
	tw.Flush()
}

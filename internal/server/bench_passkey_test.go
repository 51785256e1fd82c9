package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// Passkey sign-in speed: a discoverable ES256 sign-in (login/begin, the
// authenticator's assertion, login/finish) end to end over HTTP, next to
// go-webauthn's own verification measured in the same process. Figures and
// commands are in docs/benchmarks.md ("Passkey sign-in").

// passkeyMembers is how many members, each with one passkey, the sign-in
// benchmark spreads its load over: one per client at concurrency 32, so
// clients do not queue on one credential's row.
const passkeyMembers = 32

// passkeySite is a running keyshift with members who have passkeys.
type passkeySite struct {
	in   *servertest.Instance
	t    *bench.Target
	keys []*bench.Passkey
	next atomic.Int64
}

// startPasskeySite starts keyshift on database and gives it members
// passkey members, signing them up and registering a software passkey for
// each through the API, then signs each in once: later sign-ins come from
// returning browsers (see bench.Target.PasskeySignin).
func startPasskeySite(tb testing.TB, database string, members int) *passkeySite {
	tb.Helper()
	in := servertest.Start(tb, database)
	s := &passkeySite{in: in, t: bench.NewTarget(in.URL)}
	ctx := context.Background()
	for i := range members {
		if i > 0 && i%10 == 0 {
			// Ten sign-ups per address an hour are free (PolicySignupIP);
			// the clock moves past the throttle's memory.
			in.Clock.Advance(time.Hour + time.Minute)
		}
		cookie, err := s.t.Signup(ctx, fmt.Sprintf("pk%d@example.com", i), benchPassword)
		if err != nil {
			tb.Fatal(err)
		}
		k, _, err := s.t.RegisterPasskey(ctx, cookie)
		if err != nil {
			tb.Fatal(err)
		}
		if err := s.t.PasskeySignin(ctx, k); err != nil {
			tb.Fatal(err)
		}
		s.keys = append(s.keys, k)
	}
	return s
}

// signin is one passkey sign-in with the next member's passkey.
func (s *passkeySite) signin(ctx context.Context) error {
	return s.t.PasskeySignin(ctx, s.keys[int(s.next.Add(1))%len(s.keys)])
}

// bareRun measures go-webauthn's verifications on every core (GOMAXPROCS
// goroutines) for d: the rate, and the process's CPU time per
// verification.
func bareRun(tb testing.TB, l *bench.BareLogin, d time.Duration) (rate float64, cpu time.Duration) {
	cpu0 := bench.CPUTime()
	r := bench.Run(context.Background(), d, runtime.GOMAXPROCS(0), l.Verify)
	if r.Errors > 0 {
		tb.Fatalf("bare verification failed %d times", r.Errors)
	}
	return r.Rate(), (bench.CPUTime() - cpu0) / time.Duration(r.Ops)
}

// BenchmarkBarePasskeyLogin is the ceiling for a passkey sign-in:
// go-webauthn's FinishPasskeyLogin on pre-made ES256 assertions, on every
// core (RunParallel), no HTTP, no database.
func BenchmarkBarePasskeyLogin(b *testing.B) {
	l, err := bench.NewBareLogin()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Verify(context.Background()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkPasskeySignin is a discoverable passkey sign-in end to end over
// HTTP — login/begin, one ES256 assertion by a software authenticator in
// this process, login/finish with its session cookie — from 1 and from 32
// concurrent clients. Around each run it measures the bare go-webauthn
// rate (as BenchmarkBarePasskeyLogin, half a second before and after), so
// "%bare" compares the two on the same machine state.
//
// It also reports the CPU time one sign-in costs ("cpu-us/signin": this
// process — server and client — plus, on PostgreSQL, the server's backends
// for this database, also apart as "pg-cpu-us/signin") and one bare
// verification ("bare-cpu-us"): figures that other load on the machine
// changes far less than the rates.
func BenchmarkPasskeySignin(b *testing.B) {
	bare, err := bench.NewBareLogin()
	if err != nil {
		b.Fatal(err)
	}
	eachBackend(b, func(b *testing.B, database string) {
		site := startPasskeySite(b, database, passkeyMembers)
		dbCPU := func() time.Duration { return 0 }
		if strings.HasPrefix(database, "postgres") {
			dbCPU = pgBackendCPU(b, database)
		}
		for _, conc := range []int{1, 32} {
			b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
				ctx := context.Background()
				if err := site.signin(ctx); err != nil {
					b.Fatal(err)
				}
				before, bareCPU1 := bareRun(b, bare, 500*time.Millisecond)
				b.ResetTimer()
				cpu0, db0 := bench.CPUTime(), dbCPU()
				r := bench.RunN(ctx, b.N, conc, site.signin)
				db := dbCPU() - db0
				cpu := bench.CPUTime() - cpu0 + db
				b.StopTimer()
				after, bareCPU2 := bareRun(b, bare, 500*time.Millisecond)
				rate := (before + after) / 2
				if r.Errors > 0 {
					b.Fatalf("%d of %d sign-ins failed", r.Errors, r.Ops)
				}
				b.ReportMetric(r.Rate(), "signins/s")
				b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(rate, "bare/s")
				b.ReportMetric(100*r.Rate()/rate, "%bare")
				b.ReportMetric(float64(cpu.Microseconds())/float64(r.Ops), "cpu-us/signin")
				if db > 0 {
					b.ReportMetric(float64(db.Microseconds())/float64(r.Ops), "pg-cpu-us/signin")
				}
				b.ReportMetric(float64((bareCPU1+bareCPU2).Nanoseconds())/2000, "bare-cpu-us")
			})
		}
	})
}

// pgBackendCPU returns a function that reports the CPU time (user and
// system, from /proc) used so far by the PostgreSQL backends serving
// database — found by application_name, which testdb sets to the schema's
// name — or 0 where that cannot be read. PostgreSQL runs on this machine,
// so its work shares the two cores with keyshift's.
func pgBackendCPU(tb testing.TB, database string) func() time.Duration {
	u, err := url.Parse(database)
	if err != nil {
		tb.Fatal(err)
	}
	app := u.Query().Get("application_name")
	conn, err := pgx.Connect(context.Background(), database)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	seen := map[int]time.Duration{} // pid → CPU at the last look; a backend that starts meanwhile counts from ~0
	return func() time.Duration {
		rows, err := conn.Query(context.Background(),
			`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app)
		if err != nil {
			tb.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			tb.Fatal(err)
		}
		for _, pid := range pids {
			seen[int(pid)] = procCPU(int(pid))
		}
		var total time.Duration
		for _, cpu := range seen {
			total += cpu
		}
		return total
	}
}

// procCPU returns the user and system CPU time of process pid (Linux
// /proc/PID/stat, in clock ticks of 10 ms), or 0.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte(") ")) // after "pid (comm) "
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestPasskeySigninRoundTrips counts the PostgreSQL round trips of one
// discoverable passkey sign-in, begin and finish, as they cross the wire:
// keyshift talks to PostgreSQL through a loopback proxy that reads the
// protocol messages it sends. A round trip is a Sync (extended protocol:
// Parse/Bind/Execute… then Sync, one wait for the server) or a simple
// Query; nothing in keyshift is changed or hooked for the count. SQLite runs
// the same statements (one SQL implementation) in-process.
//
// The member signs in from a returning browser (device cookie), as most
// sign-ins are; from a new device StartSession also queues a notice mail:
// one INSERT INTO outbox more, in the same transaction.
//
// Not counted: pgx's prepare round trips (a statement's first use on a
// connection; none once warm), database/sql's "-- ping" of a connection
// idle for more than a second before reuse, and the mail delivery worker's
// polls of the outbox, which run on their own clock.
func TestPasskeySigninRoundTrips(t *testing.T) {
	wire := newPGWire(t, testdb.PostgresURL(t))
	site := startPasskeySite(t, wire.url, 1)
	ctx := context.Background()
	for range 3 { // prepare every statement on the connections in use
		if err := site.signin(ctx); err != nil {
			t.Fatal(err)
		}
	}
	k := site.keys[0]
	c := site.in.Client(t) // a returning browser: the device cookie of k's last sign-in
	name, value, _ := strings.Cut(k.DeviceCookie(), "=")
	c.SetCookie(name, value)

	wire.take()
	r := c.JSON(http.MethodPost, "/api/passkeys/login/begin", map[string]any{})
	if r.Status != http.StatusOK {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	begin := requestTrips(wire.take())
	var cer struct {
		FlowID    string          `json:"flowId"`
		PublicKey json.RawMessage `json:"publicKey"`
	}
	r.JSON(t, &cer)
	cred, err := k.Get(cer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	r = c.JSON(http.MethodPost, "/api/passkeys/login/finish", map[string]any{
		"flowId": cer.FlowID, "credential": json.RawMessage(cred), "mediation": "modal"})
	if r.Status != http.StatusOK {
		t.Fatalf("finish: %d %s", r.Status, r.Body)
	}
	finish := requestTrips(wire.take())

	t.Logf("login/begin, %d round trips:\n%s", len(begin), strings.Join(begin, "\n"))
	t.Logf("login/finish, %d round trips:\n%s", len(finish), strings.Join(finish, "\n"))
	// begin: nothing — the ceremony is sealed into the flowId. finish:
	// read the credential with its member; then one write transaction —
	// BEGIN with the ceremony's spending, update the credential, the
	// session, and in one last round trip the audit event, its telemetry
	// event (the member comes with the audit event, the phase from the
	// rollout's copy in memory: no read) and the COMMIT (sqldb/pgtx.go).
	if len(begin) > 0 || len(finish) > 5 {
		t.Errorf("%d + %d round trips, want at most 0 + 5", len(begin), len(finish))
	}
	if len(finish) > 1 && !strings.HasPrefix(finish[1], "BEGIN; INSERT INTO webauthn_spent") {
		t.Errorf("the transaction's first round trip is %q, want the BEGIN with the first statement", finish[1])
	}
	if last := finish[len(finish)-1]; !strings.HasPrefix(last, "INSERT INTO events") || slices.Contains(finish, "COMMIT") {
		t.Errorf("the last round trip is %q, want the events with the COMMIT, not a COMMIT of its own", last)
	}
}

// requestTrips leaves out the mail delivery worker's round trips (its
// statements, and only its, start "UPDATE outbox").
func requestTrips(trips []string) []string {
	var out []string
	for _, t := range trips {
		if !strings.HasPrefix(t, "UPDATE outbox") {
			out = append(out, t)
		}
	}
	return out
}

// pgWire is a loopback proxy in front of PostgreSQL that records, for each
// round trip keyshift makes, the SQL it ran.
type pgWire struct {
	url      string // the database URL through the proxy
	upstream string
	mu       sync.Mutex
	trips    []string
}

func newPGWire(t *testing.T, database string) *pgWire {
	u, err := url.Parse(database)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &pgWire{upstream: u.Host}
	u.Host = ln.Addr().String()
	w.url = u.String()
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, nil)
			wg.Go(func() { w.serve(c, &conns, &wg) })
		}
	})
	return w
}

// take returns the round trips recorded since the last take.
func (w *pgWire) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.trips
	w.trips = nil
	return out
}

func (w *pgWire) record(trip string) {
	w.mu.Lock()
	w.trips = append(w.trips, trip)
	w.mu.Unlock()
}

// serve relays one connection, reading the client's messages (PostgreSQL
// protocol 3: a startup packet, then type byte, int32 length, body).
func (w *pgWire) serve(c net.Conn, conns *sync.Map, wg *sync.WaitGroup) {
	defer c.Close()
	up, err := net.Dial("tcp", w.upstream)
	if err != nil {
		return
	}
	conns.Store(up, nil)
	defer up.Close()
	wg.Go(func() { io.Copy(c, up); c.Close() })
	r := bufio.NewReader(c)
	for { // startup; TLS and GSS encryption are declined so the rest is readable
		msg, err := readN(r, 4)
		if err != nil {
			return
		}
		body, err := readN(r, int(binary.BigEndian.Uint32(msg))-4)
		if err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(body); code == 80877103 || code == 80877104 {
			c.Write([]byte{'N'})
			continue
		}
		if _, err := up.Write(append(msg, body...)); err != nil {
			return
		}
		break
	}
	stmts := map[string]string{} // prepared statement name → SQL
	var bound string
	var executed []string
	for {
		hdr, err := readN(r, 5)
		if err != nil {
			return
		}
		body, err := readN(r, int(binary.BigEndian.Uint32(hdr[1:]))-4)
		if err != nil {
			return
		}
		switch hdr[0] {
		case 'P': // Parse: name, query
			f := bytes.SplitN(body, []byte{0}, 3)
			stmts[string(f[0])] = string(f[1])
		case 'B': // Bind: portal, statement
			f := bytes.SplitN(body, []byte{0}, 3)
			bound = stmts[string(f[1])]
		case 'E':
			executed = append(executed, bound)
		case 'S':
			if len(executed) > 0 { // else a prepare: not counted
				w.record(oneLine(strings.Join(executed, "; ")))
			}
			executed = nil
		case 'Q':
			if q := string(bytes.TrimRight(body, "\x00")); q != "-- ping" {
				w.record(oneLine(q))
			}
		}
		if _, err := up.Write(append(hdr, body...)); err != nil {
			return
		}
	}
}

func readN(r io.Reader, n int) ([]byte, error) {
	if n < 0 || n > 1<<26 {
		return nil, fmt.Errorf("bad length %d", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// oneLine squeezes whitespace and cuts long statements for the log.
func oneLine(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 110 {
		q = q[:110] + "…"
	}
	return q
}

// BenchmarkPasskeyHarnessCeiling runs BenchmarkPasskeySignin's client —
// the same two HTTP requests and software authenticator, over loopback —
// against bench.CeilingServer, which does nothing but go-webauthn (begin
// keeps the session data in memory; finish verifies and sets a cookie).
// Its rate is the most any server can show in this harness: what keyshift
// reaches is to be read against it as well as against the bare rate.
func BenchmarkPasskeyHarnessCeiling(b *testing.B) {
	bare, err := bench.NewBareLogin()
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	origin := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	srv, keys, err := bench.NewCeilingServer(origin, passkeyMembers)
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	t := bench.NewTarget(origin)
	var next atomic.Int64
	signin := func(ctx context.Context) error { return t.PasskeySignin(ctx, keys[int(next.Add(1))%len(keys)]) }
	for _, conc := range []int{1, 32} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			ctx := context.Background()
			before, _ := bareRun(b, bare, 500*time.Millisecond)
			b.ResetTimer()
			cpu0 := bench.CPUTime()
			r := bench.RunN(ctx, b.N, conc, signin)
			cpu := bench.CPUTime() - cpu0
			b.StopTimer()
			after, _ := bareRun(b, bare, 500*time.Millisecond)
			if r.Errors > 0 {
				b.Fatalf("%d of %d sign-ins failed", r.Errors, r.Ops)
			}
			rate := (before + after) / 2
			b.ReportMetric(r.Rate(), "signins/s")
			b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(rate, "bare/s")
			b.ReportMetric(100*r.Rate()/rate, "%bare")
			b.ReportMetric(float64(cpu.Microseconds())/float64(r.Ops), "cpu-us/signin")
		})
	}
}

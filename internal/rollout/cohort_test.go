package rollout

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTheRampIsStableAndMonotone is a property test over random installs
// and members: a member's bucket never changes, raising the percentage
// never takes anyone out, 0 % holds nobody and 100 % everybody.
func TestTheRampIsStableAndMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		salt := make([]byte, 32)
		for i := range salt {
			salt[i] = byte(rng.UintN(256))
		}
		id := fmt.Sprintf("%016x", rng.Uint64())
		if Bucket(salt, id) != Bucket(salt, id) {
			t.Fatal("a member's bucket changed between two calls")
		}
		if InRamp(salt, id, 0) || !InRamp(salt, id, 100) {
			t.Fatalf("member %s: in at 0 %% or out at 100 %%", id)
		}
		lo, hi := int(rng.UintN(101)), int(rng.UintN(101))
		if lo > hi {
			lo, hi = hi, lo
		}
		if InRamp(salt, id, lo) && !InRamp(salt, id, hi) {
			t.Fatalf("member %s in at %d %% but out at %d %%", id, lo, hi)
		}
	}
}

func TestTheRampTakesThePercentageAsked(t *testing.T) {
	salt := []byte("a fixed salt for the test")
	const n = 20000
	for _, percent := range []int{1, 10, 30, 75} {
		in := 0
		for i := range n {
			if InRamp(salt, fmt.Sprintf("user-%d", i), percent) {
				in++
			}
		}
		got := 100 * float64(in) / n
		if d := got - float64(percent); d < -1.5 || d > 1.5 {
			t.Errorf("%d %% ramp took %.2f %% of %d members", percent, got, n)
		}
	}
}

func TestTheSaltMakesEachInstallsRampItsOwn(t *testing.T) {
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("user-%d", i)
		if InRamp([]byte("install a"), id, 50) == InRamp([]byte("install b"), id, 50) {
			same++
		}
	}
	if same < 400 || same > 600 {
		t.Errorf("two installs agreed on %d of 1000 members at 50 %%: the salt does not separate them", same)
	}
}

func TestTheInternalCohort(t *testing.T) {
	in := Internal{Domains: []string{" @Example.COM ", "staff.example.org", "example.com"}, Emails: []string{"Ada@Elsewhere.net"}}.normalized()
	if want := []string{"example.com", "staff.example.org"}; fmt.Sprint(in.Domains) != fmt.Sprint(want) {
		t.Fatalf("domains = %q, want %q", in.Domains, want)
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"kate@example.com", true},
		{"kate@staff.example.org", true},
		{"ada@elsewhere.net", true},
		{"bob@elsewhere.net", false},
		{"kate@sub.example.com", false},
		{"kate@example.com.evil.net", false},
		{"example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := in.Contains(tt.key); got != tt.want {
			t.Errorf("Contains(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// TestInternalWithout: removal compares as the cohort stores its entries,
// so "@Example.COM " removes the domain example.com, and what is not listed
// is ignored.
func TestInternalWithout(t *testing.T) {
	in := Internal{Domains: []string{"example.com", "corp.example"}, Emails: []string{"ann@else.example", "bob@else.example"}}
	tests := []struct {
		name            string
		domains, emails []string
		want            Internal
	}{
		{"nothing", nil, nil, in},
		{"a domain, written loosely", []string{" @Example.COM"}, nil, Internal{Domains: []string{"corp.example"}, Emails: in.Emails}},
		{"an address, upper case", nil, []string{"ANN@else.example"}, Internal{Domains: in.Domains, Emails: []string{"bob@else.example"}}},
		{"not listed", []string{"other.example"}, []string{"zed@else.example"}, in},
		{"everything", in.Domains, in.Emails, Internal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := in.Without(tt.domains, tt.emails)
			if !slices.Equal(got.Domains, tt.want.Domains) || !slices.Equal(got.Emails, tt.want.Emails) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

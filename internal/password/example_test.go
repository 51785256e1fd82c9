package password_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/keyshift/keyshift/internal/password"
)

// A server makes one gate with about one slot per core and shares it between
// every hasher, then signs members in with Verify and VerifyDummy.
func ExampleHasher() {
	ctx := context.Background()
	gate := password.NewGate(runtime.GOMAXPROCS(0), 2*time.Second)
	h := password.NewHasher(password.DefaultParams(), gate)

	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		fmt.Println("hash:", err) // a *BusyError becomes 429 with Retry-After
		return
	}

	ok, needsRehash, err := h.Verify(ctx, "correct horse battery staple", stored, "argon2id")
	fmt.Println(ok, needsRehash, err)

	// No such account: spend the same time, reveal nothing.
	err = h.VerifyDummy(ctx, "correct horse battery staple")
	fmt.Println(err)
	// Output:
	// true false <nil>
	// <nil>
}

func ExampleCheck() {
	for _, pw := range []string{"letmein", "iloveyou", "abcdefghij", "alice1984", "correct horse battery staple"} {
		var pe *password.PolicyError
		if err := password.Check(pw, "alice@example.com"); errors.As(err, &pe) {
			fmt.Printf("%s: %s\n", pw, pe.Reason)
			continue
		}
		fmt.Printf("%s: ok\n", pw)
	}
	// Output:
	// letmein: too_short
	// iloveyou: common
	// abcdefghij: repetitive
	// alice1984: contains_email
	// correct horse battery staple: ok
}

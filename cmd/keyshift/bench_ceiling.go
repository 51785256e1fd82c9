package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/bench"
)

// benchCeilingCmd serves bench.CeilingServer — the API `bench --target`
// drives, with go-webauthn, Argon2id and an in-memory session map behind it
// and nothing else — for the generated members, so that the floor of every
// scenario is measured from another process exactly as keyshift is. It is a
// measuring instrument, not a server for anything else: it keeps nothing,
// checks no origin but its own and throttles nothing.
func benchCeilingCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench ceiling", "bench ceiling [--listen 127.0.0.1:8080] [--origin http://localhost:8080] [--members N] [--seed S]")
	listen := fs.String("listen", "127.0.0.1:8080", "the `address` to listen on")
	origin := fs.String("origin", "http://localhost:8080", "the `URL` the load client names (bench --target): passkeys are bound to it")
	members := fs.Int("members", 256, "how many generated members (`N`) to serve; bench --target's --members")
	seed := fs.Uint64("seed", 1, "the seed (`S`) of the generated members; bench --target's --seed")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *members < 1 {
		return fmt.Errorf("--members must be at least 1")
	}
	rows, err := bench.GenMembers(*members, *seed)
	if err != nil {
		return err
	}
	srv, err := bench.NewCeilingServerFor(*origin, rows)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		hs.Shutdown(shut)
	}()
	fmt.Fprintf(e.Stderr, "keyshift bench ceiling: %d generated members (seed %d) for %s, listening on %s; measure it with keyshift bench --target %s --import=false\n",
		*members, *seed, *origin, ln.Addr(), *origin)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

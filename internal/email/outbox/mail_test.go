package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox"
)

func TestBackoffDoublesUpToAnHour(t *testing.T) {
	var p outbox.Policy
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestRenderNeedsEveryValue(t *testing.T) {
	if _, err := outbox.Render("sample", "sample", "a@example.com", "K", map[string]any{"Site": "K"}); err == nil {
		t.Error("Render with missing values succeeded")
	}
	if _, err := outbox.Render("nope", "nope", "a@example.com", "K", nil); err == nil {
		t.Error("Render of an unknown template succeeded")
	}
}

func TestEnqueueRefusesBrokenMessages(t *testing.T) {
	o := outbox.NewOutbox(nil, nil) // the store is never reached
	for name, msg := range map[string]outbox.Message{
		"a header injection":  {To: "a@example.com\r\nBcc: b@example.com", Subject: "s", Text: "t"},
		"a subject with a CR": {To: "a@example.com", Subject: "s\rX", Text: "t"},
		"no text":             {To: "a@example.com", Subject: "s"},
		"not an address":      {To: "nobody", Subject: "s", Text: "t"},
	} {
		if err := o.Enqueue(context.Background(), msg); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("%s: Enqueue = %v, want ErrInvalid", name, err)
		}
	}
}

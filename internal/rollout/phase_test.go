package rollout

import (
	"encoding/json"
	"testing"
)

func TestPhasesReadAndWriteByName(t *testing.T) {
	for _, p := range Phases() {
		q, err := ParsePhase(p.String())
		if err != nil || q != p {
			t.Errorf("ParsePhase(%q) = %v, %v; want %v", p.String(), q, err, p)
		}
	}
	for in, want := range map[string]Phase{" New_Users ": NewUsers, "PASSWORD-RETIREMENT": PasswordRetirement, "off": Off} {
		if got, err := ParsePhase(in); err != nil || got != want {
			t.Errorf("ParsePhase(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "on", "new users", "existing-user"} {
		if _, err := ParsePhase(bad); err == nil {
			t.Errorf("ParsePhase(%q) accepted", bad)
		}
	}
	b, err := json.Marshal(struct{ P Phase }{PasswordDeprecation})
	if err != nil || string(b) != `{"P":"password-deprecation"}` {
		t.Fatalf("JSON = %s, %v", b, err)
	}
	var back struct{ P Phase }
	if err := json.Unmarshal([]byte(`{"P":"beta"}`), &back); err != nil || back.P != Beta {
		t.Fatalf("Unmarshal = %v, %v", back.P, err)
	}
	if err := json.Unmarshal([]byte(`{"P":"gamma"}`), &back); err == nil {
		t.Fatal("Unmarshal accepted an unknown phase")
	}
	if _, err := Phase(42).MarshalText(); err == nil {
		t.Fatal("MarshalText accepted Phase(42)")
	}
}

package rollout

import (
	"slices"
	"testing"
)

func TestGuardrails(t *testing.T) {
	g := DefaultGuardrails()
	tests := []struct {
		name string
		f    Figures
		want []string
	}{
		{"a healthy rollout trips nothing", Figures{PasskeyAttempts: 200, PasskeySuccesses: 195, RecoveryThisWeek: 30, RecoveryLastWeek: 28, DuplicatesLastHour: 3}, nil},
		{"too few passkey attempts to judge", Figures{PasskeyAttempts: 199, PasskeySuccesses: 0}, nil},
		{"passkey success below the floor", Figures{PasskeyAttempts: 200, PasskeySuccesses: 179}, []string{"passkey_success_rate"}},
		{"passkey success exactly at the floor", Figures{PasskeyAttempts: 200, PasskeySuccesses: 180}, nil},
		{"recovery up by more than half", Figures{RecoveryThisWeek: 31, RecoveryLastWeek: 20}, []string{"recovery_rise"}},
		{"recovery up by exactly half", Figures{RecoveryThisWeek: 30, RecoveryLastWeek: 20}, nil},
		{"a rise too small to count", Figures{RecoveryThisWeek: 19, RecoveryLastWeek: 1}, nil},
		{"recovery after a silent week", Figures{RecoveryThisWeek: 20}, []string{"recovery_rise"}},
		{"duplicate passkeys above the hourly limit", Figures{DuplicatesLastHour: 51}, []string{"duplicate_passkeys"}},
		{"everything at once, in order", Figures{PasskeyAttempts: 300, PasskeySuccesses: 10, RecoveryThisWeek: 100, RecoveryLastWeek: 10, DuplicatesLastHour: 99},
			[]string{"passkey_success_rate", "recovery_rise", "duplicate_passkeys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trips := g.Check(tt.f)
			if got := Names(trips); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("tripped %v, want %v", got, tt.want)
			}
			for _, tr := range trips {
				if tr.Message == "" {
					t.Errorf("%s has no message", tr.Name)
				}
			}
		})
	}
	if trips := (Guardrails{}).Check(Figures{PasskeyAttempts: 1000, RecoveryThisWeek: 1000, DuplicatesLastHour: 1000}); len(trips) != 0 {
		t.Errorf("guardrails that are off tripped %v", Names(trips))
	}
}

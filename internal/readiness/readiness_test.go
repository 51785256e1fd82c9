package readiness

import (
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		h    Holdings
		want Class
		next []Step
	}{
		{"email only", Holdings{}, Weak, []Step{AddPasskey, MakeRecoveryCodes}},
		{"a password only", Holdings{Password: true}, Weak, []Step{AddPasskey, MakeRecoveryCodes}},
		{"codes but no passkey", Holdings{Password: true, RecoveryCodes: 10}, Weak, []Step{AddPasskey}},
		{"one device-bound passkey and nothing else", Holdings{Passkeys: 1}, AtRisk, []Step{AddSecondPasskey, MakeRecoveryCodes}},
		{"one device-bound passkey and a password", Holdings{Passkeys: 1, Password: true}, OK, []Step{AddSecondPasskey, MakeRecoveryCodes}},
		{"one device-bound passkey and codes", Holdings{Passkeys: 1, RecoveryCodes: 10}, OK, []Step{AddSecondPasskey}},
		{"one synced passkey", Holdings{Passkeys: 1, Synced: true}, OK, []Step{AddSecondPasskey, MakeRecoveryCodes}},
		{"one synced passkey and codes", Holdings{Passkeys: 1, Synced: true, RecoveryCodes: 8}, Strong, []Step{AddSecondPasskey}},
		{"one synced passkey and two codes left", Holdings{Passkeys: 1, Synced: true, RecoveryCodes: 2}, Strong, []Step{AddSecondPasskey, RenewRecoveryCodes}},
		{"two device-bound passkeys", Holdings{Passkeys: 2}, Strong, []Step{MakeRecoveryCodes}},
		{"three passkeys and codes", Holdings{Passkeys: 3, Synced: true, RecoveryCodes: 10}, Strong, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.h); got != tt.want {
				t.Errorf("Of = %s, want %s", got, tt.want)
			}
			if got := Next(tt.h); !slices.Equal(got, tt.next) {
				t.Errorf("Next = %v, want %v", got, tt.next)
			}
		})
	}
}

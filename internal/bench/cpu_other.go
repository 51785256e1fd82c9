//go:build !unix

package bench

import "time"

// CPUTime returns 0 where getrusage is missing.
func CPUTime() time.Duration { return 0 }

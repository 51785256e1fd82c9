//go:build !unix

package bench

import (
	"os"
	"time"
)

// CPUTime returns 0 where getrusage is missing.
func CPUTime() time.Duration { return 0 }

// maxRSSKiB returns 0 where getrusage is missing.
func maxRSSKiB(*os.ProcessState) int64 { return 0 }

// Package wait polls a condition in tests against real servers, which
// converge in their own time.
package wait

import (
	"testing"
	"time"
)

// For polls cond until it returns "" or timeout passes, then fails t with
// what and cond's last answer. It returns how long the condition took.
func For(t testing.TB, timeout time.Duration, what string, cond func() string) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		if last = cond(); last == "" {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, last)
	return 0
}

// Package testkit holds what the services' tests share: a log buffer that
// a program's goroutines write while the test reads it, and a bounded
// wait on an observable condition. (supervisor/internal/daemontest is the
// supervisor's; Go's internal rule keeps it out of reach of services/.)
package testkit

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent writers and a reader.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitUntil checks cond every 20 ms until it holds; past limit the test
// fails, naming what it waited for and showing log.
func WaitUntil(t testing.TB, what string, limit time.Duration, log fmt.Stringer, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v; log:\n%s", what, limit, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package follow

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitTimeout is how long a test waits for an outcome. The machines that
// run the tests are small and shared, so it is generous; nothing asserts
// on how fast things happen.
const waitTimeout = 60 * time.Second

// collector records the events of a follower running in its own goroutine.
type collector struct {
	mu     sync.Mutex
	cond   *sync.Cond
	events []Event // Text copied
	idles  int
	// explain, when set, describes the events when a wait times out.
	explain func([]Event) string
}

func newCollector() *collector {
	c := &collector{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *collector) emit(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Kind == Idle {
		c.idles++
	} else {
		e.Text = append([]byte(nil), e.Text...)
		c.events = append(c.events, e)
	}
	c.cond.Broadcast()
}

// wait blocks until ok (called with the lock held) holds, or fails the
// test after waitTimeout.
func (c *collector) wait(t testing.TB, what string, ok func() bool) {
	t.Helper()
	if dump, timedOut := c.waitFor(ok); timedOut {
		t.Fatalf("timed out after %s waiting for %s; events:\n%s", waitTimeout, what, dump)
	}
}

// waitFor blocks until ok holds or waitTimeout has passed; then it
// returns a description of the events.
func (c *collector) waitFor(ok func() bool) (dump string, timedOut bool) {
	late := false
	timer := time.AfterFunc(waitTimeout, func() {
		c.mu.Lock()
		late = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !ok() {
		if late {
			return c.dumpLocked(), true
		}
		c.cond.Wait()
	}
	return "", false
}

// waitText waits until the concatenated texts of the events of path
// (formatted by format) contain want.
func (c *collector) waitEvent(t testing.TB, want string) {
	t.Helper()
	c.wait(t, fmt.Sprintf("event %q", want), func() bool {
		for _, e := range c.events {
			if formatEvent(e) == want {
				return true
			}
		}
		return false
	})
}

func (c *collector) snapshot() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

func (c *collector) dumpLocked() string {
	if c.explain != nil {
		return c.explain(c.events)
	}
	var b strings.Builder
	from := max(0, len(c.events)-40)
	if from > 0 {
		fmt.Fprintf(&b, "(%d events before)\n", from)
	}
	for _, e := range c.events[from:] {
		b.WriteString(formatEvent(e) + "\n")
	}
	return b.String()
}

// formatEvent writes an event as the tests compare them: "kind path text".
func formatEvent(e Event) string {
	s := e.Kind.String() + " " + e.Path
	if e.Kind == Line || e.Kind == Partial || e.Kind == Cut {
		s += " " + string(e.Text)
	}
	if e.Err != nil {
		s += " " + e.Err.Error()
	}
	return s
}

func formatEvents(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, formatEvent(e))
	}
	return out
}

// start runs Follow in a goroutine and waits for its first Idle (the
// files found at start have been read); the returned stop cancels it and
// waits for it to return.
func start(t testing.TB, patterns []string, opts Options) (*collector, func()) {
	t.Helper()
	c := newCollector()
	stop := startEmit(t, patterns, opts, c.emit)
	c.wait(t, "the first idle", func() bool { return c.idles > 0 })
	return c, stop
}

// startEmit runs Follow with emit in a goroutine; the returned stop
// cancels it and waits for it to return (also at cleanup).
func startEmit(t testing.TB, patterns []string, opts Options, emit func(Event)) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, patterns, opts, emit) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Follow: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Follow did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a daemon's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count is how many log lines contain s.
func (h *harness) count(s string) int {
	n := 0
	for _, l := range h.lines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitCount waits until at least n log lines contain s.
func (h *harness) waitCount(s string, n int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for h.count(s) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("fewer than %d log lines with %q after %v; log:\n%s", n, s, timeout, strings.Join(h.lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exitedCleanly checks that the daemon exited 0 and that the race
// detector (in a -race build) found nothing.
func (h *harness) exitedCleanly(out *lockedBuffer) {
	h.t.Helper()
	if err := h.stop(30 * time.Second); err != nil {
		h.t.Errorf("daemon exited with %v; output:\n%s", err, out)
	}
	if strings.Contains(out.String(), "DATA RACE") {
		h.t.Errorf("the race detector found a data race:\n%s", out)
	}
}

// The config watcher's goroutine must be gone before a reload replaces
// the fields it reads (the watcher, its event channel and the log): a
// SIGHUP while files change under watch_config was a data race.
func TestDaemon_sighupWithWatchConfigHasNoRace(t *testing.T) {
	if !raceEnabled {
		t.Skip("the race detector finds this bug: run with -race")
	}
	h := newHarness(t, "[supervisord]\nwatch_config=true\n\n[include]\nfiles=conf.d/*.conf\n")
	confd := filepath.Join(h.dir, "conf.d")
	if err := os.Mkdir(confd, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(i int) {
		// A program nobody starts: only the watcher notices the edit.
		text := fmt.Sprintf("[program:p]\ncommand=/bin/sleep %d\nautostart=false\n", 1000+i)
		if err := os.WriteFile(filepath.Join(confd, "p.conf"), []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
	write(0)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitCount("supervisord started with pid", 1, 20*time.Second)

	stop := make(chan struct{})
	var editing sync.WaitGroup
	editing.Add(1)
	go func() { // edits all along, so the watcher is busy at every reload
		defer editing.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			write(i)
			time.Sleep(time.Millisecond)
		}
	}()
	pid := h.daemonPID()
	for n := 2; n <= 6; n++ {
		syscall.Kill(pid, syscall.SIGHUP)
		h.waitCount("supervisord started with pid", n, 30*time.Second)
	}
	close(stop)
	editing.Wait()
	// The watcher still works after the reloads.
	os.WriteFile(filepath.Join(confd, "q.conf"), []byte("[program:q]\ncommand=/bin/sleep 1000\nstartsecs=0\n"), 0o644)
	h.waitFor(`success: q entered RUNNING`, 20*time.Second)
	h.exitedCleanly(out)
}

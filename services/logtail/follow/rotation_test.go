package follow

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writer appends numbered lines ("w<id> <n>") to a log at full speed, one
// write per line, holding mu for each line so that a rotator can stop it
// for the few steps that must not interleave with a write.
type writer struct {
	id   int
	path string

	mu   sync.Mutex
	cond *sync.Cond // signalled as n grows
	f    *os.File
	n    int // lines written
	done bool
	// genStart is the number of the first line written into the current
	// file.
	genStart int
}

func newWriter(t *testing.T, id int, path string, from int) *writer {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{id: id, path: path, f: f, n: from}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *writer) line(n int) string { return fmt.Sprintf("w%d %d\n", w.id, n) }

// maxLag is how many lines a writer may be ahead of the follower before
// it waits: enough for the follower to have a backlog, not so many that
// the test takes long on a slow machine.
const maxLag = 2000

// run writes lines until total have been written or stop is closed. When
// lc is set, it waits whenever it is maxLag lines ahead of the follower.
func (w *writer) run(t *testing.T, total int, stop <-chan struct{}, lc *lineChecker) {
	defer func() {
		w.mu.Lock()
		w.done = true
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
	for {
		w.mu.Lock()
		select {
		case <-stop:
			total = w.n
		default:
		}
		if w.n >= total {
			w.mu.Unlock()
			return
		}
		if _, err := w.f.WriteString(w.line(w.n)); err != nil {
			w.mu.Unlock()
			t.Errorf("writer %d: %v", w.id, err)
			return
		}
		w.n++
		n := w.n
		w.cond.Broadcast()
		w.mu.Unlock()
		if lc != nil && n%100 == 0 {
			if dump, late := lc.c.waitFor(func() bool { return lc.count(w.id) > n-maxLag }); late {
				t.Errorf("writer %d: the follower stays %d lines behind; events:\n%s", w.id, maxLag, dump)
				return
			}
		}
	}
}

// waitMore waits (mu held) until the writer has written k more lines or
// is done.
func (w *writer) waitMore(k int) {
	target := w.n + k
	for w.n < target && !w.done {
		w.cond.Wait()
	}
}

// swap (mu held) creates a new file at the path and makes the writer use
// it; exclusive, so a rotation that left a file behind is caught.
func (w *writer) swap(t *testing.T) {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Errorf("writer %d: new file: %v", w.id, err)
		return
	}
	w.f.Close()
	w.f, w.genStart = f, w.n
}

// lineChecker checks the lines of writers as a follower delivers them:
// each writer's numbers must come in sequence, under the name given by
// pathOf (when set). Other events go to the collector, which is also
// signalled on every line so that waits see the counts.
type lineChecker struct {
	c      *collector
	pathOf func(id int) string

	mu       sync.Mutex
	next     map[int]int // per writer, the number due
	problems []string
	recent   []string // the last events, to explain a problem
}

func newLineChecker(c *collector, pathOf func(int) string) *lineChecker {
	return &lineChecker{c: c, pathOf: pathOf, next: map[int]int{}}
}

func (lc *lineChecker) emit(e Event) {
	id, n, ok := 0, 0, false
	if e.Kind == Line {
		id, n, ok = parseLine(string(e.Text))
	}
	if !ok {
		lc.c.emit(e)
		return
	}
	lc.mu.Lock()
	lc.recent = append(lc.recent, formatEvent(e))
	if len(lc.recent) > 40 {
		lc.recent = lc.recent[20:]
	}
	if len(lc.problems) < 5 {
		if n != lc.next[id] {
			lc.problems = append(lc.problems, fmt.Sprintf("writer %d: line %d where %d was due (lost or repeated lines); last events:\n  %s",
				id, n, lc.next[id], strings.Join(lc.recent, "\n  ")))
		} else if lc.pathOf != nil && e.Path != lc.pathOf(id) {
			lc.problems = append(lc.problems, fmt.Sprintf("writer %d: line %d delivered under %s, want %s", id, n, e.Path, lc.pathOf(id)))
		}
	}
	lc.next[id] = n + 1
	lc.mu.Unlock()
	lc.c.emit(Event{Kind: Idle}) // wakes the waiters
}

// count is how many lines of writer id were delivered in sequence.
func (lc *lineChecker) count(id int) int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.next[id]
}

func (lc *lineChecker) problemList() []string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return append([]string(nil), lc.problems...)
}

func (lc *lineChecker) explain([]Event) string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	var b strings.Builder
	for _, p := range lc.problems {
		b.WriteString(p + "\n")
	}
	for id, n := range lc.next {
		fmt.Fprintf(&b, "writer %d: %d lines delivered\n", id, n)
	}
	b.WriteString("last lines:\n  " + strings.Join(lc.recent, "\n  "))
	return b.String()
}

func parseLine(s string) (id, n int, ok bool) {
	a, b, found := strings.Cut(s, " ")
	if !found || !strings.HasPrefix(a, "w") {
		return 0, 0, false
	}
	id, err1 := strconv.Atoi(a[1:])
	n, err2 := strconv.Atoi(b)
	return id, n, err1 == nil && err2 == nil
}

// opened waits (w.mu held) until the follower has delivered a line of the
// writer's current file, so it has that file open. A file created and
// removed before a follower looks at its folder is never seen by anyone
// following by name; real rotations leave files in place far longer.
func opened(t *testing.T, c *collector, lc *lineChecker, w *writer) {
	t.Helper()
	if w.n > w.genStart {
		caughtUp(t, c, lc, w.id, w.genStart+1)
	}
}

// caughtUp waits until the follower has delivered n lines of writer id.
func caughtUp(t *testing.T, c *collector, lc *lineChecker, id, n int) {
	t.Helper()
	c.wait(t, fmt.Sprintf("the follower to catch up with writer %d (%d lines)", id, n), func() bool {
		return lc.count(id) >= n
	})
}

// TestFollow_Rotations runs writers at full speed while another goroutine
// rotates their files by rename, deletes and re-creates them, truncates
// them in place and copy-truncates them, and while a new file appears:
// every line must be delivered exactly once, in order, under its file's
// name.
//
// Rename and delete rotations let the writer go on writing into the old
// file for a while before the new one is created, as a program that
// reopens its log a little late does. For the two truncations the rotator
// holds the writer and waits for the follower to catch up before it
// truncates: bytes written after the follower's last read and before a
// truncation are lost to any follower (see the package documentation).
func TestFollow_Rotations(t *testing.T) {
	dir := t.TempDir()
	const (
		nWriters = 3
		maxLines = 500000 // per writer; they stop when the rotator is done
		gap      = 500    // lines between two operations on a file
		cycles   = 3      // of the four operations, per file
	)
	// Writer 0's file exists at start with lines that must be delivered
	// (Lines: -1 reads files found at start whole).
	w0 := filepath.Join(dir, "w0.log")
	writeFile(t, w0, numbered("w0 ", 0, 100))

	c := newCollector()
	lc := newLineChecker(c, func(id int) string {
		if id == nWriters {
			return filepath.Join(dir, "late.log")
		}
		return filepath.Join(dir, fmt.Sprintf("w%d.log", id))
	})
	c.explain = lc.explain
	startEmit(t, []string{filepath.Join(dir, "*.log")},
		Options{Lines: -1, FlushAfter: -1, Rescan: 100 * time.Millisecond}, lc.emit)

	writers := []*writer{newWriter(t, 0, w0, 100)}
	for i := 1; i < nWriters; i++ {
		writers = append(writers, newWriter(t, i, filepath.Join(dir, fmt.Sprintf("w%d.log", i)), 0))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, w := range writers {
		wg.Go(func() { w.run(t, maxLines, stop, lc) })
	}

	ops := []struct {
		name string
		do   func(w *writer)
	}{
		{"rename", func(w *writer) {
			opened(t, c, lc, w)
			if err := os.Rename(w.path, w.path+".1"); err != nil {
				t.Error(err)
			}
			w.waitMore(50) // still writing into x.log.1
			w.swap(t)
		}},
		{"delete", func(w *writer) {
			opened(t, c, lc, w)
			if err := os.Remove(w.path); err != nil {
				t.Error(err)
			}
			w.waitMore(50) // still writing into the deleted file
			w.swap(t)
		}},
		{"truncate", func(w *writer) {
			caughtUp(t, c, lc, w.id, w.n)
			if err := w.f.Truncate(0); err != nil {
				t.Error(err)
			}
		}},
		{"copytruncate", func(w *writer) {
			caughtUp(t, c, lc, w.id, w.n)
			if err := copyFile(w.path, w.path+".1"); err != nil {
				t.Error(err)
			}
			if err := w.f.Truncate(0); err != nil {
				t.Error(err)
			}
		}},
	}

	// A file that appears mid-run, matched by the glob.
	var late *writer
	for cycle := 0; cycle < cycles; cycle++ {
		for _, op := range ops {
			for _, w := range writers {
				// The rotator holds the writer's mu during an operation;
				// waitMore lets the writer run meanwhile (cond.Wait).
				w.mu.Lock()
				w.waitMore(gap)
				op.do(w)
				w.mu.Unlock()
			}
		}
		if cycle == 0 {
			late = newWriter(t, nWriters, filepath.Join(dir, "late.log"), 0)
			wg.Go(func() { late.run(t, maxLines, stop, lc) })
			writers = append(writers, late)
		}
	}
	close(stop)
	wg.Wait()

	for _, w := range writers {
		caughtUp(t, c, lc, w.id, w.n)
	}
	// Let anything extra (a repeated line) arrive before checking.
	for _, w := range writers {
		appendFile(t, w.path, "end\n")
		c.waitEvent(t, "line "+w.path+" end")
	}

	for _, p := range lc.problemList() {
		t.Error(p)
	}
	truncations := 0
	for _, e := range c.snapshot() {
		switch {
		case e.Kind == Truncated:
			truncations++
		case e.Kind == Line && string(e.Text) == "end":
		default:
			t.Errorf("unexpected event %s", formatEvent(e))
		}
	}
	lines := 0
	for _, w := range writers {
		if n := lc.count(w.id); n != w.n {
			t.Errorf("writer %d: %d lines delivered, want %d", w.id, n, w.n)
		}
		lines += w.n
	}
	if truncations == 0 {
		t.Errorf("no truncation noticed")
	}
	t.Logf("%d writers, %d lines, %d rotations each, %d truncations noticed", len(writers), lines, cycles*len(ops), truncations)
	for _, w := range writers {
		w.f.Close()
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestFollow_GlobMatchesRotated follows a glob that matches the rotated
// files too (x.log, x.log.1, x.log.2): a file renamed from x.log to
// x.log.1 is the same file and must not be read again from its start.
func TestFollow_GlobMatchesRotated(t *testing.T) {
	dir := t.TempDir()
	const total = 20000
	c := newCollector()
	lc := newLineChecker(c, nil)
	c.explain = lc.explain
	startEmit(t, []string{filepath.Join(dir, "x.log*")}, Options{FlushAfter: -1, Rescan: 100 * time.Millisecond}, lc.emit)
	c.wait(t, "the first idle", func() bool { return c.idles > 0 })

	w := newWriter(t, 0, filepath.Join(dir, "x.log"), 0)
	var wg sync.WaitGroup
	wg.Go(func() { w.run(t, total, nil, nil) })
	for i := 0; i < 6; i++ {
		w.mu.Lock()
		w.waitMore(1000)
		opened(t, c, lc, w)
		os.Rename(w.path+".1", w.path+".2")
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			t.Error(err)
		}
		w.waitMore(20)
		w.swap(t)
		w.mu.Unlock()
	}
	wg.Wait()
	caughtUp(t, c, lc, 0, total)
	appendFile(t, w.path, "end\n")
	c.waitEvent(t, "line "+w.path+" end")

	for _, p := range lc.problemList() {
		t.Error(p)
	}
	if n := lc.count(0); n != total {
		t.Errorf("%d lines delivered, want %d", n, total)
	}
	w.f.Close()
}

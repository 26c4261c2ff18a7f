package follow

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Deterministic tests: the follower's steps are called directly, in the
// order that a race would produce, without its goroutine.

type recorder struct{ events []string }

func (r *recorder) emit(e Event) {
	if e.Kind != Idle {
		r.events = append(r.events, formatEvent(e))
	}
}

func (r *recorder) take() []string {
	ev := r.events
	r.events = nil
	return ev
}

func newTestFollower(t *testing.T, patterns ...string) (*follower, *recorder) {
	t.Helper()
	pats, err := parsePatterns(patterns)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	fl := newFollower(pats, Options{FlushAfter: -1}, r.emit)
	t.Cleanup(fl.closeAll)
	return fl, r
}

// settle reads every dirty file until none is.
func (fl *follower) settle() {
	for fl.round() {
	}
}

func check(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events\n  %q\nwant\n  %q", got, want)
	}
}

func TestFollower_TruncatedAndRewrittenPastOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	writeFile(t, path, "a1\na2\n")
	fl, r := newTestFollower(t, path)
	fl.scan(true)
	fl.settle()
	r.take()
	// Truncated, then written past the old offset before the follower
	// looks again: the file is longer than what was read, yet it changed.
	writeFile(t, path, "b1 is longer\nb2\n")
	fl.markDirty(fl.paths[path])
	fl.settle()
	check(t, r.take(), "truncated "+path, "line "+path+" b1 is longer", "line "+path+" b2")
}

func TestFollower_RenamedIntoTheGlob(t *testing.T) {
	for _, order := range []string{"new name first", "old name first"} {
		t.Run(order, func(t *testing.T) {
			dir := t.TempDir()
			x, x1 := filepath.Join(dir, "x.log"), filepath.Join(dir, "x.log.1")
			writeFile(t, x, "")
			fl, r := newTestFollower(t, filepath.Join(dir, "x.log*"))
			fl.scan(true)
			appendFile(t, x, "1\n")
			fl.settle()
			check(t, r.take(), "line "+x+" 1")

			// Rotation by rename; the writer adds a line to the old file
			// before it opens the new one.
			if err := os.Rename(x, x1); err != nil {
				t.Fatal(err)
			}
			appendFile(t, x1, "2\n")
			writeFile(t, x, "3\n")
			if order == "new name first" {
				fl.bind(x1, false) // the same file as x's: waits for it
				fl.bind(x, false)
			} else {
				fl.bind(x, false) // x1 is retired: resumes where x stopped
				fl.bind(x1, false)
			}
			fl.settle()
			check(t, r.take(), "line "+x+" 2", "line "+x+" 3")
			appendFile(t, x1, "4\n")
			fl.bind(x1, false)
			fl.settle()
			check(t, r.take(), "line "+x1+" 4")
		})
	}
}

func TestFollower_RetiredNeedsItsAnchor(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.log")
	writeFile(t, x, "12345\n67890\n")
	st, err := os.Stat(x)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := idOf(st)
	for _, tt := range []struct {
		name   string
		anchor string
		want   []string
	}{
		// An inode number used again by another file: read from the start.
		{"other content", "zzzzz\n", []string{"line " + x + " 12345", "line " + x + " 67890"}},
		{"same content", "12345\n", []string{"line " + x + " 67890"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fl, r := newTestFollower(t, x)
			fl.retired[id] = retired{off: 6, anchor: []byte(tt.anchor), at: time.Now()}
			fl.bind(x, false)
			fl.settle()
			check(t, r.take(), tt.want...)
		})
	}
}

func TestFollower_DeletedFileClosedWhenIdle(t *testing.T) {
	x := filepath.Join(t.TempDir(), "x.log")
	writeFile(t, x, "")
	fl, r := newTestFollower(t, x)
	fl.scan(true)
	w, err := os.OpenFile(x, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.Remove(x); err != nil {
		t.Fatal(err)
	}
	w.WriteString("into the deleted file\n")
	fl.bind(x, false)
	fl.settle()
	check(t, r.take(), "line "+x+" into the deleted file")

	fl.closeDeleted() // it grew just now: kept
	if len(fl.byID) != 1 {
		t.Fatalf("deleted file closed while it grows")
	}
	w.WriteString("last words\n")
	fl.paths[x].lastGrowth = time.Now().Add(-2 * DeletedIdle)
	fl.closeDeleted() // read to its end, then closed
	check(t, r.take(), "line "+x+" last words")
	if len(fl.byID) != 0 || fl.paths[x] != nil {
		t.Errorf("deleted idle file still open")
	}
}

func TestFollower_ReplacedFileEndsWithCut(t *testing.T) {
	x := filepath.Join(t.TempDir(), "x.log")
	writeFile(t, x, "")
	fl, r := newTestFollower(t, x)
	fl.scan(true)
	appendFile(t, x, "whole\nhalf")
	fl.settle()
	if err := os.Remove(x); err != nil {
		t.Fatal(err)
	}
	writeFile(t, x, "new\n")
	fl.bind(x, false)
	fl.settle()
	check(t, r.take(), "line "+x+" whole", "cut "+x+" half", "line "+x+" new")
}

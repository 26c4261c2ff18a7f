package follow

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFollow_InitialLines(t *testing.T) {
	tests := []struct {
		name    string
		content string
		lines   int
		want    []string // events up to the first Idle, then Cut at stop
	}{
		{"last 3 of 10", numbered("l", 0, 10), 3, []string{"line F l7", "line F l8", "line F l9"}},
		{"more than there are", "a\nb\n", 5, []string{"line F a", "line F b"}},
		{"none", "a\nb\n", 0, nil},
		{"whole file", "a\nb\nc\n", -1, []string{"line F a", "line F b", "line F c"}},
		{"unfinished last line counts", "a\nb\nc", 2, []string{"line F b", "cut F c"}},
		{"empty lines count", "a\n\n\n", 2, []string{"line F ", "line F "}},
		{"empty file", "", 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.log")
			writeFile(t, path, tt.content)
			c, stop := start(t, []string{path}, Options{Lines: tt.lines, FlushAfter: -1})
			stop()
			got := strings.Join(formatEvents(c.snapshot()), "\n")
			want := strings.ReplaceAll(strings.Join(tt.want, "\n"), " F ", " "+path+" ")
			if got != want {
				t.Errorf("events:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestStartOffset_LongHistory(t *testing.T) {
	// More than maxHistory without a newline before the last lines: start
	// at the first line that begins inside the window.
	path := filepath.Join(t.TempDir(), "x.log")
	big := strings.Repeat("x", maxHistory+100) + "\nshort\n"
	writeFile(t, path, big)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off, err := startOffset(f, int64(len(big)), 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := big[off:]; got != "short\n" {
		t.Errorf("history starts with %.20q…, want %q", got, "short\n")
	}
}

func TestFollow_NewFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), "old a\n")
	later := filepath.Join(dir, "later") // a folder that does not exist yet
	c, _ := start(t, []string{filepath.Join(dir, "*.log"), filepath.Join(later, "x.log")},
		Options{Lines: 10, FlushAfter: -1, Rescan: 50 * time.Millisecond})
	c.waitEvent(t, "line "+filepath.Join(dir, "a.log")+" old a")

	writeFile(t, filepath.Join(dir, "b.log"), "b written before it was seen\n")
	appendFile(t, filepath.Join(dir, "b.log"), "b 2\n")
	writeFile(t, filepath.Join(dir, "c.txt"), "not followed\n")
	appendFile(t, filepath.Join(dir, "a.log"), "new a\n")
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(later, "x.log"), "x 1\n")

	c.waitEvent(t, "line "+filepath.Join(dir, "b.log")+" b 2")
	c.waitEvent(t, "line "+filepath.Join(dir, "a.log")+" new a")
	c.waitEvent(t, "line "+filepath.Join(later, "x.log")+" x 1")
	appendFile(t, filepath.Join(later, "x.log"), "x 2\n")
	c.waitEvent(t, "line "+filepath.Join(later, "x.log")+" x 2")

	var got []string
	for _, e := range c.snapshot() {
		if e.Kind != Idle {
			got = append(got, formatEvent(e))
		}
	}
	want := []string{
		"line " + filepath.Join(dir, "a.log") + " old a",
		"line " + filepath.Join(dir, "b.log") + " b written before it was seen",
		"line " + filepath.Join(dir, "b.log") + " b 2",
		"line " + filepath.Join(dir, "a.log") + " new a",
		"line " + filepath.Join(later, "x.log") + " x 1",
		"line " + filepath.Join(later, "x.log") + " x 2",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant (in any order):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFollow_PartialLines(t *testing.T) {
	t.Run("flushed after a delay", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		writeFile(t, path, "")
		c, _ := start(t, []string{path}, Options{FlushAfter: 20 * time.Millisecond})
		appendFile(t, path, "abc")
		c.waitEvent(t, "partial "+path+" abc")
		appendFile(t, path, "def\n")
		c.waitEvent(t, "line "+path+" def")
	})
	t.Run("held until the newline", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		writeFile(t, path, "")
		c, _ := start(t, []string{path}, Options{FlushAfter: -1})
		appendFile(t, path, "abc")
		appendFile(t, path, "def\n")
		c.waitEvent(t, "line "+path+" abcdef")
		if got := formatEvents(c.snapshot()); len(got) != 1 {
			t.Errorf("events %q, want only the whole line", got)
		}
	})
	t.Run("hold keeps back the end", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		writeFile(t, path, "")
		hold := func(p []byte) int { return min(len(p), 2) }
		c, _ := start(t, []string{path}, Options{FlushAfter: 20 * time.Millisecond, Hold: hold})
		appendFile(t, path, "abcd")
		c.waitEvent(t, "partial "+path+" ab")
		appendFile(t, path, "e\n")
		c.waitEvent(t, "line "+path+" cde")
	})
	t.Run("long lines in pieces", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		writeFile(t, path, "")
		c, _ := start(t, []string{path}, Options{FlushAfter: -1, MaxLine: 10})
		appendFile(t, path, strings.Repeat("a", 10)+strings.Repeat("b", 10)+"ccc\nd\n")
		c.waitEvent(t, "line "+path+" d")
		want := []string{"partial " + path + " aaaaaaaaaa", "partial " + path + " bbbbbbbbbb", "line " + path + " ccc", "line " + path + " d"}
		if got := formatEvents(c.snapshot()); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
	t.Run("cut at stop", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		writeFile(t, path, "")
		c, stop := start(t, []string{path}, Options{FlushAfter: -1})
		appendFile(t, path, "a\nunfinished")
		c.waitEvent(t, "line "+path+" a")
		stop()
		want := []string{"line " + path + " a", "cut " + path + " unfinished"}
		if got := formatEvents(c.snapshot()); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

func TestFollow_Truncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	writeFile(t, path, "")
	c, _ := start(t, []string{path}, Options{FlushAfter: -1})
	appendFile(t, path, "one\ntwo\n")
	c.waitEvent(t, "line "+path+" two")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "three\n")
	c.waitEvent(t, "line "+path+" three")
	want := []string{"line " + path + " one", "line " + path + " two", "truncated " + path, "line " + path + " three"}
	if got := formatEvents(c.snapshot()); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestFollow_Skip(t *testing.T) {
	dir := t.TempDir()
	c, _ := start(t, []string{filepath.Join(dir, "*.log")}, Options{FlushAfter: -1,
		Skip: func(p string) bool { return filepath.Base(p) == "own.log" }})
	writeFile(t, filepath.Join(dir, "own.log"), "mine\n")
	writeFile(t, filepath.Join(dir, "x.log"), "theirs\n")
	c.waitEvent(t, "line "+filepath.Join(dir, "x.log")+" theirs")
	for _, e := range c.snapshot() {
		if e.Path == filepath.Join(dir, "own.log") {
			t.Errorf("skipped file followed: %s", formatEvent(e))
		}
	}
}

func TestFollow_BadPatterns(t *testing.T) {
	for _, tt := range []struct {
		name     string
		patterns []string
		want     string
	}{
		{"none", nil, "no paths given"},
		{"empty", []string{""}, "empty path"},
		{"glob in folder", []string{"/var/*/x.log"}, `glob characters are only supported in the file name, not in the folder "/var/*"`},
		{"bad glob", []string{"/var/log/[x.log"}, "syntax error in pattern"},
		{"folder only", []string{"/"}, "not a file name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Follow(t.Context(), tt.patterns, Options{}, func(Event) {})
			if !errors.Is(err, ErrPattern) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrPattern with %q", err, tt.want)
			}
		})
	}
}

func TestFollow_UnreadableReported(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	c, _ := start(t, []string{sub}, Options{FlushAfter: -1})
	c.wait(t, "an error event", func() bool {
		for _, e := range c.events {
			if e.Kind == Error && strings.Contains(e.Err.Error(), "not a regular file") {
				return true
			}
		}
		return false
	})
}

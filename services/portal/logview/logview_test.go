package logview

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/logtail"
)

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Segment
	}{
		{"plain", "hello", []Segment{{"hello", ""}}},
		{"script stays text", "<script>alert(1)</script>", []Segment{{"<script>alert(1)</script>", ""}}},
		{"colours", "\x1b[1;31mERR\x1b[0m ok", []Segment{{"ERR", "b fg1"}, {" ok", ""}}},
		{"bright and bg", "\x1b[92;44mx", []Segment{{"x", "fg10 bg4"}}},
		{"256 colour skipped", "\x1b[38;5;196mred\x1b[39m", []Segment{{"red", ""}}},
		{"erase line dropped", "\x1b[2Kdone", []Segment{{"done", ""}}},
		{"progress bar", "10%\r50%\r100%", []Segment{{"100%", ""}}},
		{"trailing cr", "100%\r", []Segment{{"100%", ""}}},
		{"controls dropped", "a\x00b\x07c\td", []Segment{{"abc\td", ""}}},
		{"osc title dropped", "\x1b]0;title\x07text", []Segment{{"text", ""}}},
		{"invalid utf8", "a\xffb", []Segment{{"a\uFFFDb", ""}}},
		{"unfinished escape", "a\x1b[", []Segment{{"a", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Render(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add("\x1b[1;31mERR\x1b[0m <b>\r50%")
	f.Fuzz(func(t *testing.T, s string) {
		for _, seg := range Render(s) {
			if strings.ContainsAny(seg[0], "\x1b\r\n\x00") {
				t.Fatalf("control left in %q", seg[0])
			}
			if strings.Trim(seg[1], "abcdefgiu0123456789 ") != "" {
				t.Fatalf("class %q", seg[1])
			}
		}
	})
}

// next returns the viewer's next message, reading its frames one at a
// time (the pending rest of the last frame in pending[v]).
func next(t *testing.T, v *Viewer) Message {
	t.Helper()
	for len(pending[v]) == 0 {
		select {
		case b := <-v.C:
			var ms []Message
			if err := json.Unmarshal(b, &ms); err != nil {
				t.Fatalf("frame %q: %v", b, err)
			}
			pending[v] = ms
		case <-time.After(60 * time.Second):
			t.Fatal("no message")
		}
	}
	m := pending[v][0]
	pending[v] = pending[v][1:]
	return m
}

var pending = map[*Viewer][]Message{}

func text(m Message) string {
	var b strings.Builder
	for _, s := range m.S {
		b.WriteString(s[0])
	}
	return b.String()
}

func TestHub_SharedFollowerRedactsAndRewrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	os.WriteFile(path, []byte("old line with hunter2-secret\n"), 0o644)
	h := &Hub{Redactor: logtail.NewRedactor([]string{"hunter2-secret"}), FlushAfter: 50 * time.Millisecond}
	v1 := h.Watch(path)
	if m := next(t, v1); m.T != "line" || text(m) != "old line with ***" {
		t.Fatalf("history: %+v", m)
	}
	v2 := h.Watch(path) // gets the history from the hub, not a second follower
	if m := next(t, v2); text(m) != "old line with ***" {
		t.Fatalf("second viewer's history: %+v", m)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("downloading 10%\r")
	var m Message
	for m = next(t, v1); m.T != "partial"; m = next(t, v1) {
	}
	if text(m) != "downloading 10%" {
		t.Fatalf("partial: %q", text(m))
	}
	f.WriteString("downloading 100%\n<script>alert(1)</script>\n")
	f.Close()
	for m = next(t, v1); m.T != "line"; m = next(t, v1) {
	}
	if text(m) != "downloading 100%" {
		t.Fatalf("line after the bar: %q", text(m))
	}
	if m = next(t, v1); text(m) != "<script>alert(1)</script>" {
		t.Fatalf("script line: %+v", m)
	}
	v1.Close()
	v2.Close()
	h.Wait() // the follower ends with its last viewer
}

// A flood is cut to the newest lines of each tick, with a count of the rest.
func TestHub_FloodKeepsTheNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	os.WriteFile(path, nil, 0o644)
	h := &Hub{}
	v := h.Watch(path)
	defer func() { v.Close(); h.Wait() }()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	f.WriteString("ready\n")
	if m := next(t, v); text(m) != "ready" { // the follower has the file open
		t.Fatalf("first: %+v", m)
	}
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	f.WriteString(b.String())
	skipped, lines, last := 0, 0, ""
	for last != "line 4999" {
		m := next(t, v)
		switch m.T {
		case "skipped":
			skipped += m.N
		case "line":
			lines++
			last = text(m)
		}
	}
	if skipped == 0 || skipped+lines != 5000 {
		t.Fatalf("skipped %d + lines %d, want 5000 with some skipped", skipped, lines)
	}
}

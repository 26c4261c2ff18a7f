package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The spawns of one pass must read in the log as Python's single pass
// writes them (kept from an attempt at concurrent forking, which was
// measured slower on 2 cores and removed): every "spawned:" or
// "spawnerr:" in (priority, name) order, whatever fails where (before the
// fork: a missing command; in the fork: a file the kernel cannot exec),
// each process's lines in their order, every pid tracked (no "reaped
// unknown pid"), and a program with umask= (forked serially) in its place.
func TestDaemon_spawnPassKeepsPythonsOrder(t *testing.T) {
	dir := t.TempDir()
	var body strings.Builder
	var want []string
	failing := map[string]string{}
	for i := range 30 {
		name := fmt.Sprintf("a%02d", i)
		want = append(want, name)
		command := prog("sleep")
		switch {
		case i%7 == 3:
			// Executable, but no format the kernel knows: execve fails
			// with ENOEXEC in the forked child.
			bad := filepath.Join(dir, name+".bad")
			if err := os.WriteFile(bad, []byte("\x00\x01\x02 not a program\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			command = bad
			failing[name] = "couldn't exec " + bad + ": ENOEXEC"
		case i%11 == 5:
			command = "/nonexistent/" + name
			failing[name] = "can't find command '/nonexistent/" + name + "'"
		}
		fmt.Fprintf(&body, "[program:%s]\ncommand=%s\npriority=10\nstartsecs=0\nstartretries=0\nautorestart=false\n\n", name, command)
	}
	for i := range 10 {
		name := fmt.Sprintf("b%02d", i)
		want = append(want, name)
		umask := ""
		if i == 3 {
			umask = "umask=077\n"
		}
		fmt.Fprintf(&body, "[program:%s]\ncommand=%s\npriority=20\nstartsecs=0\nautorestart=false\n%s\n", name, prog("sleep"), umask)
	}
	h := start(t, supervisord, body.String())
	h.waitFor(`success: b09 entered RUNNING`, 60*time.Second)
	h.waitFor(`gave up: a24 entered FATAL`, 60*time.Second)
	if err := h.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	lines := h.lines()

	spawned := regexp.MustCompile(`spawned: '(\w+)' with pid \d+`)
	spawnErr := regexp.MustCompile(`spawnerr: .*?/(a\d\d)(?:\.bad)?\b`)
	var got []string
	for _, l := range lines {
		if m := spawned.FindStringSubmatch(l); m != nil {
			got = append(got, m[1])
		} else if m := spawnErr.FindStringSubmatch(l); m != nil {
			got = append(got, m[1])
		}
		if strings.Contains(l, "reaped unknown pid") {
			t.Errorf("a spawned pid was not tracked: %s", l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("spawns logged in the order\n%v\nwant (priority, name) order\n%v", got, want)
	}

	for _, name := range want {
		var seq []string
		mine := regexp.MustCompile(`\b` + name + `\b`)
		for _, l := range lines {
			if !mine.MatchString(l) {
				continue
			}
			switch {
			case strings.Contains(l, "spawned: '"+name+"'"):
				seq = append(seq, "spawned")
			case strings.Contains(l, "spawnerr: "):
				if msg, ok := failing[name]; !ok || !strings.Contains(l, msg) {
					t.Errorf("%s: unexpected spawn error %q (want %q)", name, l, msg)
				}
				seq = append(seq, "spawnerr")
			case strings.Contains(l, "success: "+name+" "):
				seq = append(seq, "success")
			case strings.Contains(l, "gave up: "+name+" "):
				seq = append(seq, "gave up")
			case strings.Contains(l, "stopped: "+name+" "):
				seq = append(seq, "stopped")
			}
		}
		wantSeq := "spawned success stopped"
		if _, ok := failing[name]; ok {
			wantSeq = "spawnerr gave up"
		}
		if strings.Join(seq, " ") != wantSeq {
			t.Errorf("%s: lines %v, want %s", name, seq, wantSeq)
		}
	}
}

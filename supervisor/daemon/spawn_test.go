package daemon_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
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

// A child gets its stdin, stdout and stderr and nothing else, as from
// Python's supervisord (which closes descriptors 3 to minfds in each
// child): not the descriptors the daemon itself was started with. Here
// the daemon inherits the write end of a pipe, as from the shell or tool
// that started it; a child holding it would keep that pipe's reader from
// ever seeing its end. Checked in both daemons, and that the reader does
// see its end once the daemon is gone while the child still runs.
func TestDaemon_childrenDoNotInheritTheDaemonsDescriptors(t *testing.T) {
	daemontest.RequirePython(t)
	for who, bin := range map[string]string{"python": daemontest.Python, "ours": supervisord} {
		t.Run(who, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h := newHarness(t, "[program:a]\ncommand=/bin/sleep 3600\nstartsecs=0\nautorestart=false\nstopsignal=KILL\n")
			h.extraFiles = []*os.File{w}
			h.run(bin)
			w.Close()
			line := h.waitFor(`spawned: 'a' with pid \d+`, 20*time.Second)
			pid, _ := strconv.Atoi(regexp.MustCompile(`pid (\d+)`).FindStringSubmatch(line)[1])
			// Python logs "spawned:" when it has forked; its child closes
			// its descriptors before the exec: look once it runs sleep.
			deadline := time.Now().Add(20 * time.Second)
			for {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if string(cmdline) == "/bin/sleep\x003600\x00" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: pid %d does not run /bin/sleep 3600 after 20 s (%q)", bin, pid, cmdline)
				}
				time.Sleep(10 * time.Millisecond)
			}
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
			if err != nil {
				t.Fatal(err)
			}
			var fds []string
			for _, e := range ents {
				fds = append(fds, e.Name())
			}
			if !slices.Equal(fds, []string{"0", "1", "2"}) {
				t.Errorf("%s: the child has descriptors %v, want only 0 1 2", bin, fds)
			}
			// Gone with the daemon: SIGKILL, so the child outlives it.
			syscall.Kill(h.daemonPID(), syscall.SIGKILL)
			eof := make(chan error, 1)
			go func() { _, err := r.Read(make([]byte, 1)); eof <- err }()
			select {
			case err := <-eof:
				if err != io.EOF {
					t.Errorf("%s: reading the daemon's inherited pipe: %v, want EOF", bin, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s: the pipe the daemon inherited is still open after it died (a child holds it)", bin)
			}
			syscall.Kill(pid, syscall.SIGKILL)
		})
	}
}

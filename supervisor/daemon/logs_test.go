package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openFiles returns the files a process holds open (/proc/PID/fd).
func openFiles(t *testing.T, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			out = append(out, target)
		}
	}
	return out
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, timeout)
}

// TestDaemon_logsOpenOnlyWhileRunning: with many configured programs that
// are not running the daemon holds no log file open (it held two per
// program), AUTO names are chosen up front as Python does, and a program's
// logs close once it has exited.
func TestDaemon_logsOpenOnlyWhileRunning(t *testing.T) {
	var body strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&body, "[program:idle%d]\ncommand=%s\nautostart=false\n", i, prog("sleep"))
		fmt.Fprintf(&body, "[program:fixed%d]\ncommand=%s\nautostart=false\nstdout_logfile=%%(here)s/fixed%d.log\n", i, prog("sleep"), i)
	}
	fmt.Fprintf(&body, "[program:once]\ncommand=%s\nstartsecs=0\nautorestart=false\nstdout_logfile=%%(here)s/once.log\n", prog("exit 0"))
	h := start(t, supervisord, body.String())
	h.waitFor(`exited: once \(exit status 0; expected\)`, 10*time.Second)
	pid := h.daemonPID()
	logs := func() []string {
		var out []string
		for _, f := range openFiles(t, pid) {
			if strings.HasSuffix(f, ".log") && f != h.log {
				out = append(out, f)
			}
		}
		return out
	}
	// once's output is drained within a moment of its exit, then its log closes.
	waitUntil(t, 10*time.Second, "once's log closed", func() bool { return len(logs()) == 0 })
	if n := len(openFiles(t, pid)); n > 40 {
		t.Errorf("the daemon holds %d files with 201 programs configured and none running", n)
	}
	// AUTO files exist before the first start (Python's mkstemp), fixed
	// ones only once the program has run.
	autos, _ := filepath.Glob(filepath.Join(h.dir, "idle*-stdout---supervisor-*.log"))
	if len(autos) != 100 {
		t.Errorf("%d AUTO stdout files for 100 programs", len(autos))
	}
	if _, err := os.Stat(filepath.Join(h.dir, "fixed0.log")); !os.IsNotExist(err) {
		t.Errorf("fixed0.log made before fixed0 ever ran: %v", err)
	}
}

// TestDaemon_reloadWithoutChildLogDirKeepsRunning: a SIGHUP after the
// childlogdir was deleted made the daemon exit rc 2. Now the program whose
// AUTO log cannot be made gets a spawn error and goes FATAL, the daemon
// runs on, and the next reload with the folder back starts it.
func TestDaemon_reloadWithoutChildLogDirKeepsRunning(t *testing.T) {
	h := newHarness(t, "")
	logs := filepath.Join(h.dir, "childlogs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[supervisord]\nnodaemon=true\nsilent=true\nlogfile=%s\npidfile=%s/supervisord.pid\nchildlogdir=%s\nloglevel=info\nuser=root\n\n"+
		"[program:auto]\ncommand=%s\nstartsecs=0\nstartretries=0\n", h.log, h.dir, logs, prog("sleep"))
	if err := os.WriteFile(h.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(supervisord)
	h.waitFor(`success: auto entered RUNNING`, 10*time.Second)
	pid := h.daemonPID()
	if err := os.RemoveAll(logs); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGHUP)
	h.waitFor(`spawnerr: unknown error making dispatchers for 'auto': ENOENT`, 10*time.Second)
	h.waitFor(`gave up: auto entered FATAL state`, 10*time.Second)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("daemon gone after the reload: %v\n%s", err, strings.Join(h.lines(), "\n"))
	}
	select {
	case err := <-h.done:
		t.Fatalf("daemon exited after the reload: %v\n%s", err, strings.Join(h.lines(), "\n"))
	default:
	}
	os.Mkdir(logs, 0o755)
	syscall.Kill(pid, syscall.SIGHUP)
	waitUntil(t, 10*time.Second, "auto running again", func() bool {
		return strings.Count(strings.Join(h.lines(), "\n"), "success: auto entered RUNNING") == 2
	})
}

// mountSmallDisk mounts a tmpfs of size bytes on dir, unmounted at the end.
func mountSmallDisk(t *testing.T, dir string, size int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
}

// chatter prints numbered lines in bursts, forever.
const chatter = `/bin/sh -c 'i=0; while :; do j=0; while [ $j -lt 200 ]; do echo "line $i xxxxxxxxxxxxxxxx"; i=$((i+1)); j=$((j+1)); done; sleep 0.1; done'`

var chatterLine = regexp.MustCompile(`^line \d+ x{16}$`)

// TestDaemon_fullDiskIsLoggedOnceAndRecovers: a full disk lost output with
// no word anywhere and left a torn line. Now one CRIT line says so, the
// program keeps running, every line in the file is whole, and once there
// is room again the loss is reported and writing goes on by itself.
func TestDaemon_fullDiskIsLoggedOnceAndRecovers(t *testing.T) {
	h := newHarness(t, "")
	disk := filepath.Join(h.dir, "disk")
	mountSmallDisk(t, disk, 64<<10)
	out := filepath.Join(disk, "chatter.log")
	h.write(fmt.Sprintf("[program:chatter]\ncommand=%s\nstartsecs=0\nstdout_logfile=%s\n", chatter, out))
	h.run(supervisord)
	h.waitFor(`CRIT chatter: stdout log failed, .*no space left on device`, 30*time.Second)
	os.Truncate(out, 0) // room again
	line := h.waitFor(`WARN chatter: stdout log .* is written again; \d+ bytes of output were lost`, 30*time.Second)
	if lost, _ := strconv.Atoi(regexp.MustCompile(`(\d+) bytes`).FindStringSubmatch(line)[1]); lost == 0 {
		t.Errorf("no loss reported: %s", line)
	}
	// The disk fills again; still one CRIT line (rate-limited), the
	// program never stopped, and no line is torn.
	waitUntil(t, 30*time.Second, "the disk full again", func() bool {
		st, err := os.Stat(out)
		return err == nil && st.Size() > 48<<10
	})
	all := strings.Join(h.lines(), "\n")
	if n := strings.Count(all, "CRIT chatter: stdout log failed"); n != 1 {
		t.Errorf("%d CRIT lines, want 1:\n%s", n, all)
	}
	if strings.Contains(all, "exited: chatter") {
		t.Errorf("chatter stopped:\n%s", all)
	}
	data, _ := os.ReadFile(out)
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !chatterLine.MatchString(l) {
			t.Fatalf("torn line %q in %s", l, out)
		}
	}
}

// TestDaemon_failedRotationRecovers: rotating into a deleted folder turned
// the log off for good, silently. Now it is logged at CRIT and the log
// comes back by itself once the folder exists again.
func TestDaemon_failedRotationRecovers(t *testing.T) {
	h := newHarness(t, "")
	sub := filepath.Join(h.dir, "sub")
	os.Mkdir(sub, 0o755)
	out := filepath.Join(sub, "chatter.log")
	h.write(fmt.Sprintf("[program:chatter]\ncommand=%s\nstartsecs=0\nstdout_logfile=%s\nstdout_logfile_maxbytes=4KB\nstdout_logfile_backups=1\n", chatter, out))
	h.run(supervisord)
	waitUntil(t, 30*time.Second, "a first rotation", func() bool {
		_, err := os.Stat(out + ".1")
		return err == nil
	})
	os.RemoveAll(sub)
	h.waitFor(`CRIT chatter: stdout log failed, .*no such file or directory`, 30*time.Second)
	os.Mkdir(sub, 0o755)
	h.waitFor(`WARN chatter: stdout log .* is written again; \d+ bytes of output were lost`, 30*time.Second)
	waitUntil(t, 30*time.Second, "the log written again", func() bool {
		st, err := os.Stat(out)
		return err == nil && st.Size() > 0
	})
}

// TestDaemon_idleDescriptorsNextToPython: with 5,000 configured programs
// that do not run (AUTO logs, a unix socket), our daemon holds about as
// many descriptors as Python's (it held two per program: 10,011).
func TestDaemon_idleDescriptorsNextToPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	var body strings.Builder
	body.WriteString("[unix_http_server]\nfile=%(here)s/sock\n\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&body, "[program:p%d]\ncommand=/bin/sleep 3600\nautostart=false\n", i)
	}
	count := func(bin string) int {
		h := start(t, bin, body.String())
		h.waitFor(`supervisord started with pid`, 120*time.Second)
		pid := h.daemonPID()
		n := len(openFiles(t, pid))
		if err := h.stop(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		return n
	}
	py, ours := count("/usr/bin/supervisord"), count(supervisord)
	t.Logf("descriptors held idle with 5,000 programs: Python %d, ours %d", py, ours)
	// Ours has a few more: the Go runtime's (epoll, its wake-up pipe, cgroup
	// files) and the SIGCHLD path; never one per program.
	if ours > py+10 {
		t.Errorf("ours holds %d descriptors idle with 5,000 programs, Python %d", ours, py)
	}
}

package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDaemon_lifecycle(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf(`
[program:quick]
command=%s
startretries=1

[program:steady]
command=%s

; exits 1.5 s after startsecs (room for a loaded machine)
[program:expected]
command=%s
autorestart=unexpected

[program:unexpected]
command=%s
startretries=0

[program:missing]
command=/nonexistent/prog
startretries=1
`, prog("exit 3"), prog("sleep"), prog("exit 0 2.5"), prog("exit 2 2.5")))
	h.waitFor(`gave up: missing entered FATAL`, 30*time.Second)
	h.waitFor(`gave up: quick entered FATAL`, 30*time.Second)
	h.waitFor(`exited: expected \(exit status 0; expected\)`, 30*time.Second)
	// unexpected exits with 2 after RUNNING and is restarted each time.
	h.waitFor(`exited: unexpected \(exit status 2; not expected\)`, 30*time.Second)
	h.waitFor(`success: unexpected entered RUNNING`, 30*time.Second)
	if err := h.stop(15 * time.Second); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	lines := normalize(h.lines())
	want := map[string][]string{
		"quick": {
			"INFO spawned: 'quick' with pid N",
			"WARN exited: quick (exit status 3; not expected)",
			"INFO spawned: 'quick' with pid N",
			"WARN exited: quick (exit status 3; not expected)",
			"INFO gave up: quick entered FATAL state, too many start retries too quickly",
		},
		"missing": {
			"INFO gave up: missing entered FATAL state, too many start retries too quickly",
		},
		"/nonexistent/prog": {
			"INFO spawnerr: can't find command '/nonexistent/prog'",
			"INFO spawnerr: can't find command '/nonexistent/prog'",
		},
		"expected": {
			"INFO spawned: 'expected' with pid N",
			"INFO success: expected entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
			"INFO exited: expected (exit status 0; expected)",
		},
	}
	for name, w := range want {
		got := about(lines, name)
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s:\n got\n  %s\n want\n  %s", name, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}
	steady := about(lines, "steady")
	if n := len(steady); n != 3 || steady[2] != "WARN stopped: steady (terminated by SIGTERM)" {
		t.Errorf("steady: %q", steady)
	}
}

func TestDaemon_startAndStopInPriorityOrder(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf(`
[program:c]
command=%[1]s
priority=30
startsecs=0
[program:a]
command=%[1]s
priority=10
startsecs=0
[program:b]
command=%[1]s
priority=20
startsecs=0
[program:b2]
command=%[1]s
priority=20
startsecs=0
`, prog("sleep")))
	h.waitFor(`success: c entered RUNNING`, 30*time.Second)
	if err := h.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	var spawned, stopped []string
	for _, l := range h.lines() {
		if m := regexp.MustCompile(`spawned: '(\w+)'`).FindStringSubmatch(l); m != nil {
			spawned = append(spawned, m[1])
		}
		if m := regexp.MustCompile(`stopped: (\w+) `).FindStringSubmatch(l); m != nil {
			stopped = append(stopped, m[1])
		}
	}
	if strings.Join(spawned, ",") != "a,b,b2,c" || strings.Join(stopped, ",") != "c,b2,b,a" {
		t.Errorf("spawned %v, stopped %v", spawned, stopped)
	}
}

func TestDaemon_stubbornChildAndItsGroupAreKilled(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf(`
[program:stubborn]
command=%s
stopwaitsecs=1
stopasgroup=true
startsecs=0
stdout_logfile=%%(here)s/stubborn.out
`, prog("grandchildren 3")))
	h.waitFor(`success: stubborn entered RUNNING`, 30*time.Second)
	out := filepath.Join(h.dir, "stubborn.out")
	var grandchildren []int
	for i := 0; i < 200 && len(grandchildren) < 3; i++ {
		grandchildren = nil
		data, _ := os.ReadFile(out)
		for _, m := range regexp.MustCompile(`grandchild (\d+)`).FindAllStringSubmatch(string(data), -1) {
			pid, _ := strconv.Atoi(m[1])
			grandchildren = append(grandchildren, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(grandchildren) != 3 {
		t.Fatalf("grandchildren: %v", grandchildren)
	}
	line := h.waitFor(`spawned: 'stubborn' with pid \d+`, time.Second)
	pgid, _ := strconv.Atoi(regexp.MustCompile(`\d+$`).FindString(line))
	if err := h.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	lines := about(normalize(h.lines()), "stubborn")
	want := []string{
		"INFO spawned: 'stubborn' with pid N",
		"INFO success: stubborn entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)",
		"WARN killing 'stubborn' (N) with SIGKILL",
		"WARN stopped: stubborn (terminated by SIGKILL)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s", strings.Join(lines, "\n"))
	}
	// Nothing of the process group is left alive: not the child, not the
	// grandchildren that ignored SIGTERM (zombies waiting for init to reap
	// them are dead).
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := groupMembers(pgid)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live members %v (grandchildren %v)", pgid, left, grandchildren)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers lists the live (not zombie) processes of a process group.
func groupMembers(pgid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}

func TestDaemon_outputCapture(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf(`
[program:split]
command=%s
startsecs=0
stdout_logfile=%%(here)s/split.out
stderr_logfile=%%(here)s/split.err

[program:joined]
command=%s
startsecs=0
redirect_stderr=true
stdout_logfile=%%(here)s/joined.out

[program:auto]
command=%s
startsecs=0
`, prog("echo to-out to-err"), prog("echo j-out j-err"), prog("echo a-out a-err")))
	h.waitFor(`success: auto entered RUNNING`, 30*time.Second)
	files := map[string]string{"split.out": "to-out\n", "split.err": "to-err\n"}
	waitFile := func(name, want string) {
		t.Helper()
		for i := 0; i < 250; i++ {
			data, _ := os.ReadFile(name)
			if string(data) == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		data, _ := os.ReadFile(name)
		t.Errorf("%s = %q, want %q", name, data, want)
	}
	for name, want := range files {
		waitFile(filepath.Join(h.dir, name), want)
	}
	// redirect_stderr: both streams in one file, in either order.
	for i := 0; i < 250; i++ {
		data, _ := os.ReadFile(filepath.Join(h.dir, "joined.out"))
		if len(data) == len("j-out\nj-err\n") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(filepath.Join(h.dir, "joined.out"))
	if got := strings.Split(strings.TrimSpace(string(data)), "\n"); len(got) != 2 {
		t.Errorf("joined.out = %q", data)
	}
	autos, _ := filepath.Glob(filepath.Join(h.dir, "auto-stdout---supervisor-*.log"))
	if len(autos) != 1 {
		t.Fatalf("AUTO stdout logs: %v", autos)
	}
	waitFile(autos[0], "a-out\n")
}

func TestDaemon_rotationUnderLoadKeepsEveryLine(t *testing.T) {
	const n = 200000
	h := start(t, supervisord, fmt.Sprintf(`
[program:flood]
command=%s
startsecs=0
autorestart=false
stdout_logfile=%%(here)s/flood.log
stdout_logfile_maxbytes=256KB
stdout_logfile_backups=200
`, prog(fmt.Sprintf("print %d", n))))
	h.waitFor(`exited: flood \(exit status 0; expected\)`, 30*time.Second)
	if err := h.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(h.dir, "flood.log*"))
	if len(files) < 20 {
		t.Fatalf("expected many rotated files, got %d", len(files))
	}
	seen := make([]int, n)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Errorf("%s ends inside a line", f)
		}
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if l == "" {
				continue
			}
			var i int
			var x string
			if _, err := fmt.Sscanf(l, "line %d %s", &i, &x); err != nil && !strings.HasPrefix(l, "line ") {
				t.Fatalf("bad line %q in %s", l, f)
			}
			fmt.Sscanf(l, "line %d", &i)
			seen[i]++
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("line %d seen %d times", i, c)
		}
	}
}

func TestDaemon_childEnvironment(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf(`
[supervisord]
environment=FROM_SUPERVISORD=s,SHARED=supervisord

[unix_http_server]
file=%%(here)s/supervisor.sock

[program:envy]
command=%s
startsecs=0
environment=FROM_PROGRAM="p v",SHARED=program
stdout_logfile=%%(here)s/envy.out
`, prog("env")))
	h.waitFor(`success: envy entered RUNNING`, 30*time.Second)
	var env map[string]string
	for i := 0; i < 250; i++ {
		data, _ := os.ReadFile(filepath.Join(h.dir, "envy.out"))
		env = map[string]string{}
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				env[k] = v
			}
		}
		if env["SUPERVISOR_GROUP_NAME"] != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]string{
		"SUPERVISOR_ENABLED":      "1",
		"SUPERVISOR_PROCESS_NAME": "envy",
		"SUPERVISOR_GROUP_NAME":   "envy",
		"SUPERVISOR_SERVER_URL":   "unix://" + filepath.Join(h.dir, "supervisor.sock"),
		"FROM_SUPERVISORD":        "s",
		"FROM_PROGRAM":            "p v",
		"SHARED":                  "program",
		"PATH":                    os.Getenv("PATH"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

func TestDaemon_userSwitch(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	h := start(t, supervisord, fmt.Sprintf(`
[program:who]
command=%s
user=nobody
startsecs=0
stdout_logfile=%%(here)s/who.out
`, prog("id")))
	h.waitFor(`success: who entered RUNNING`, 30*time.Second)
	for i := 0; i < 250; i++ {
		data, _ := os.ReadFile(filepath.Join(h.dir, "who.out"))
		if strings.HasPrefix(string(data), "uid=65534 gid=65534 groups=[65534]") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(filepath.Join(h.dir, "who.out"))
	t.Errorf("who.out = %q", data)
}

func TestDaemon_badConfigStartsNothing(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "s.conf")
	os.WriteFile(conf, []byte("[supervisord]\nnodaemon=true\nlogfile="+dir+"/l\n[program:x]\ncommand=/bin/sleep 100\nstartsecs=soon\n"), 0o644)
	out, err := exec.Command(supervisord, "-c", conf).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	want := "Error: " + conf + ":6: [program:x] startsecs = 'soon': invalid literal for int() with base 10: 'soon' (use a whole number)\nFor help, use " + supervisord + " -h\n"
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(dir + "/l"); err == nil {
		t.Error("a log was started")
	}
}

func TestDaemon_sighupReloadsKeepingPid(t *testing.T) {
	h := start(t, supervisord, fmt.Sprintf("[program:first]\ncommand=%s\nstartsecs=0\n", prog("sleep")))
	h.waitFor(`success: first entered RUNNING`, 30*time.Second)
	pid := h.daemonPID()
	h.write(fmt.Sprintf("[program:first]\ncommand=%[1]s\nstartsecs=0\n[program:second]\ncommand=%[1]s\nstartsecs=0\n", prog("sleep")))
	syscall.Kill(pid, syscall.SIGHUP)
	h.waitFor(`success: second entered RUNNING`, 30*time.Second)
	// A broken file: the running configuration stays.
	os.WriteFile(h.conf, []byte("[supervisord]\nlogfile="+h.log+"\nnodaemon=true\n[program:broken]\nstartsecs=x\n"), 0o644)
	syscall.Kill(pid, syscall.SIGHUP)
	h.waitFor(`configuration not reloaded, keeping the running one`, 30*time.Second)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("daemon gone after bad reload: %v", err)
	}
	if h.daemonPID() != pid {
		t.Error("pid changed")
	}
	lines := h.lines()
	var restarts int
	for _, l := range lines {
		if strings.Contains(l, "received SIGHUP indicating restart request") {
			restarts++
		}
	}
	if restarts != 2 {
		t.Errorf("restarts %d", restarts)
	}
	// After the bad reload both programs run again.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, l := range h.lines() {
			if strings.Contains(l, "success: second entered RUNNING") {
				n++
			}
		}
		if n == 2 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("second not restarted after the bad reload:\n%s", strings.Join(h.lines(), "\n"))
}

// TestDaemon_pid1 runs supervisord as PID 1 of a new PID namespace, as in
// a container: it must reap orphans, keep managed exit codes exact, and
// stop everything in order on SIGTERM.
func TestDaemon_pid1(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for unshare --pid")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	h := newHarness(t, fmt.Sprintf(`
[program:orphaner]
command=%s
startsecs=0
autorestart=false

[program:seven]
command=%s
startsecs=1
autorestart=false

[program:last]
command=%s
priority=1
startsecs=0
`, prog("orphan"), prog("exit 7 1.5"), prog("sleep")))
	h.run("unshare")
	h.waitFor(`exited: orphaner \(exit status 0; expected\)`, 30*time.Second)
	h.waitFor(`reaped unknown pid \d+ \(exit status 5\)`, 30*time.Second)
	h.waitFor(`exited: seven \(exit status 7; not expected\)`, 30*time.Second)
	pid := h.daemonPID()
	// No zombies under PID 1.
	out, _ := exec.Command("ps", "-o", "stat=,pid=", "--ppid", strconv.Itoa(pid)).Output()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "Z") {
			t.Errorf("zombie child of PID 1: %s", l)
		}
	}
	if err := h.stop(10 * time.Second); err != nil {
		t.Errorf("exit status %v", err)
	}
	lines := normalize(h.lines())
	if got := about(lines, "last"); len(got) != 3 || got[2] != "WARN stopped: last (terminated by SIGTERM)" {
		t.Errorf("last: %q", got)
	}
	if !containsLine(lines, "WARN received SIGTERM indicating exit request") {
		t.Error("no SIGTERM line")
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestDaemon_matchesPythonSupervisord runs the same configuration under
// Debian's Python supervisord and ours and compares, per process, the
// sequence of log lines (pids and times aside).
func TestDaemon_matchesPythonSupervisord(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	body := fmt.Sprintf(`
[program:crash]
command=%s
startretries=2
; Python's loop turns STARTING into RUNNING before it reaps, so a stalled
; loop (a loaded machine) would see a quick crash as a run: leave slack.
startsecs=3

[program:late]
command=%s
startsecs=1
autorestart=false

[program:expected]
command=%s
startsecs=1
exitcodes=0,4
autorestart=unexpected

[program:missing]
command=/nonexistent/prog
startretries=0

[program:notexec]
command=%s

[program:stubborn]
command=%s
stopwaitsecs=1
startsecs=0

[program:polite]
command=%s
startsecs=0
priority=1
`, prog("exit 1"), prog("exit 3 1.5"), prog("exit 4 1.5"), notExecutable(t), prog("ignoreterm"), prog("sleep"))
	run := func(bin string) []string {
		h := start(t, bin, body)
		h.waitFor(`gave up: crash entered FATAL`, 30*time.Second)
		h.waitFor(`exited: late \(exit status 3; not expected\)`, 30*time.Second)
		h.waitFor(`exited: expected \(exit status 4; expected\)`, 30*time.Second)
		h.waitFor(`gave up: notexec entered FATAL`, 30*time.Second)
		if err := h.stop(20 * time.Second); err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		return normalize(h.lines())
	}
	py := run("/usr/bin/supervisord")
	ours := run(supervisord)
	names := []string{"crash", "late", "expected", "missing", "notexec", "stubborn", "polite", "/nonexistent/prog", "is not executable"}
	for _, name := range names {
		p, o := dedupeKills(about(py, name)), dedupeKills(about(ours, name))
		if strings.Join(p, "\n") != strings.Join(o, "\n") {
			t.Errorf("%s:\n Python\n  %s\n ours\n  %s", name, strings.Join(p, "\n  "), strings.Join(o, "\n  "))
		}
	}
	// Daemon lines not about a process: the same set, in the same order.
	general := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			// Shutdown reports depend on timing (Python polls every second).
			mentions := strings.Contains(l, "waiting for")
			for _, n := range names {
				if len(about([]string{l}, n)) > 0 {
					mentions = true
				}
			}
			if !mentions {
				out = append(out, l)
			}
		}
		sort.Strings(out)
		return out
	}
	if p, o := general(py), general(ours); strings.Join(p, "\n") != strings.Join(o, "\n") {
		t.Errorf("daemon lines:\n Python\n  %s\n ours\n  %s", strings.Join(p, "\n  "), strings.Join(o, "\n  "))
	}
}

// notExecutable returns a file without execute permission.
func notExecutable(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(p, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDaemon_faults(t *testing.T) {
	var body strings.Builder
	// 300 programs crashing in a loop, one killed with SIGKILL, and one
	// that leaves a crowd of orphans behind each time it runs.
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&body, "[program:crash%03d]\ncommand=/bin/sh -c \"exit 1\"\nstartsecs=0\nautorestart=true\nstdout_logfile=NONE\nstderr_logfile=NONE\n", i)
	}
	fmt.Fprintf(&body, "[program:victim]\ncommand=%s\nstartsecs=0\n", prog("sleep"))
	fmt.Fprintf(&body, "[program:orphans]\ncommand=%s\nstartsecs=0\nautorestart=true\nstdout_logfile=NONE\n", prog("orphans 20"))
	h := start(t, supervisord, body.String())
	line := h.waitFor(`spawned: 'victim' with pid \d+`, 30*time.Second)
	victim, _ := strconv.Atoi(regexp.MustCompile(`\d+$`).FindString(line))
	h.waitFor(`success: victim entered RUNNING`, 30*time.Second)
	syscall.Kill(victim, syscall.SIGKILL)
	h.waitFor(`exited: victim \(terminated by SIGKILL; not expected\)`, 30*time.Second)
	// Restarted: a second spawn.
	deadline := time.Now().Add(10 * time.Second)
	for len(about(h.lines(), "victim")) < 5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := about(normalize(h.lines()), "victim"); len(got) < 5 || got[3] != "INFO spawned: 'victim' with pid N" {
		t.Errorf("victim: %q", got)
	}
	pid := h.daemonPID()
	// Memory is compared between two points counted in spawns, not in
	// seconds, so a slow machine only makes the test longer: a leak of a
	// few hundred bytes per spawn shows over 3,000 spawns.
	spawns := func() int { return strings.Count(strings.Join(h.lines(), "\n"), "spawned: 'crash") }
	waitSpawns := func(n int) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for spawns() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d crash spawns after 120 s, want %d", spawns(), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitSpawns(1000)
	early := rssKB(pid)
	waitSpawns(4000)
	late := rssKB(pid)
	t.Logf("daemon RSS after 1,000 crash spawns: %d KB, after 4,000: %d KB", early, late)
	if late > early*3/2+4096 {
		t.Errorf("memory grows under crash loops: %d KB → %d KB", early, late)
	}
	// Every child is reaped: each zombie seen now is gone soon after (with
	// 300 crash loops some exited children are always in flight, so the
	// set is never empty; a pid that stays a zombie was never reaped).
	zombies := func() map[string]bool {
		out, _ := exec.Command("ps", "-o", "stat=,pid=", "--ppid", strconv.Itoa(pid)).Output()
		z := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "Z") {
				z[f[1]] = true
			}
		}
		return z
	}
	before := zombies()
	deadline = time.Now().Add(30 * time.Second)
	for {
		left := 0
		now := zombies()
		for z := range before {
			if now[z] {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d zombies still not reaped after 30 s", left, len(before))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !regexp.MustCompile(`reaped unknown pid \d+ \(exit status 0\)`).MatchString(strings.Join(h.lines(), "\n")) {
		t.Error("no orphan was reaped by the daemon")
	}
	if err := h.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func rssKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

func TestDaemon_stdoutLogfileDevFd1(t *testing.T) {
	h := newHarness(t, fmt.Sprintf(`
[program:tail]
command=%s
startsecs=0
stdout_logfile=/dev/fd/1
stdout_logfile_maxbytes=0
redirect_stderr=true
`, prog("echo via-fd1 via-fd1-err")))
	out := filepath.Join(h.dir, "daemon.stdout")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h.cmd = exec.Command(supervisord, "-c", h.conf)
	h.cmd.Stdout, h.cmd.Stderr = f, f
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.done = make(chan error, 1)
	go func() { h.done <- h.cmd.Wait() }()
	h.waitFor(`success: tail entered RUNNING`, 30*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(out)
		if strings.Contains(string(data), "via-fd1\n") && strings.Contains(string(data), "via-fd1-err\n") {
			h.stop(10 * time.Second)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(out)
	h.stop(10 * time.Second)
	t.Errorf("daemon stdout: %q", data)
}

// dedupeKills drops a repeated SIGKILL line: a loop stalled for longer
// than stopwaitsecs (Python's, on a loaded machine) sends SIGKILL again.
func dedupeKills(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i > 0 && l == lines[i-1] && strings.HasSuffix(l, "with SIGKILL") {
			continue
		}
		out = append(out, l)
	}
	return out
}

package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
)

// Debian's Python supervisor, the reference.
const (
	pySupervisord   = daemontest.Python
	pySupervisorctl = "/usr/bin/supervisorctl"
)

func requirePython(t *testing.T) { t.Helper(); daemontest.RequirePython(t) }

// confHeader is the start of every test daemon's configuration: a unix
// socket, logs and pidfile in the test's folder, and a [supervisorctl]
// section pointing at the socket.
const confHeader = `[unix_http_server]
file=%(here)s/sock
{{auth}}
[supervisord]
nodaemon=true
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/sock
{{ctlauth}}
`

// testDaemon is a supervisord running on a configuration in a temporary
// folder (the shared harness, supervisor/internal/daemontest).
type testDaemon struct {
	dir, conf, sock string
	user, pass      string
	d               *daemontest.Daemon
	exited          <-chan struct{}
}

type daemonOpts struct {
	bin        string // supervisord binary; "" is Python's
	user, pass string // require Basic auth
	ctlAuth    string // lines for [supervisorctl] (username=, password=)
	// settle is how long to wait for the daemon to answer and settle
	// (0: 20 s); Python takes long to load thousands of processes.
	settle time.Duration
}

// startDaemon starts supervisord on confHeader plus body and waits until
// every process has settled (no STARTING, BACKOFF or STOPPING).
func startDaemon(t *testing.T, body string, o daemonOpts) *testDaemon {
	t.Helper()
	if o.bin == "" {
		o.bin = pySupervisord
	}
	dir := t.TempDir()
	d := &testDaemon{dir: dir, conf: filepath.Join(dir, "supervisord.conf"), sock: filepath.Join(dir, "sock"),
		user: o.user, pass: o.pass}
	auth := ""
	if o.user != "" {
		auth = "username=" + o.user + "\npassword=" + o.pass + "\n"
	}
	conf := strings.NewReplacer("{{auth}}", auth, "{{ctlauth}}", o.ctlAuth).Replace(confHeader) + body
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	d.d = daemontest.Start(t, o.bin, d.conf, daemontest.Options{Dir: dir, Setpgid: true, StopTimeout: 15 * time.Second})
	d.exited = d.d.Exited()
	d.settleWithin(t, o.settle)
	return d
}

// stop ends the daemon: SIGTERM, which stops its children, then SIGKILL
// for the whole process group if it lingers.
func (d *testDaemon) stop() { d.d.Stop(15 * time.Second) }

func (d *testDaemon) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New("unix://"+d.sock, d.user, d.pass)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// settle waits until the daemon answers and no process is in a transient
// state.
func (d *testDaemon) settle(t *testing.T) { t.Helper(); d.settleWithin(t, 0) }

// settleWithin is settle with a deadline (0: 20 s).
func (d *testDaemon) settleWithin(t *testing.T, limit time.Duration) {
	t.Helper()
	if limit <= 0 {
		limit = 20 * time.Second
	}
	d.d.Settle(d.client(t), limit)
}

// waitState waits until process name is in state.
func (d *testDaemon) waitState(t *testing.T, name string, state int) {
	t.Helper()
	c := d.client(t)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		info, err := c.GetProcessInfo(context.Background(), name)
		if err == nil && info.State == state {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not reach state %d", name, state)
}

// result is what one supervisorctl run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runPython runs Debian's supervisorctl with args and stdin, with no
// controlling terminal (so that password prompts fall back to stdin).
func runPython(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pySupervisorctl, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", pySupervisorctl, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not end in 120 s", pySupervisorctl, strings.Join(args, " "))
	}
	return result{out.String(), errb.String(), code}
}

// runOurs runs our supervisorctl in-process through Main, as the binary
// does, named as Python's is so that messages naming the program agree.
func runOurs(stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := Main(append([]string{pySupervisorctl}, args...), strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// noTTY stands for a process without a controlling terminal.
func noTTY() (*os.File, error) { return nil, syscall.ENXIO }

// runProgram runs our supervisorctl through Program, with no terminal and
// the given interrupt channel.
func runProgram(stdin string, intr <-chan struct{}, args ...string) result {
	var out, errb bytes.Buffer
	p := &Program{Args: append([]string{pySupervisorctl}, args...), Stdin: strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb, Interrupt: intr, openTTY: noTTY}
	code := p.Run()
	return result{out.String(), errb.String(), code}
}

var (
	reUptime  = regexp.MustCompile(`uptime (\d+ days?, )?\d+:\d\d:\d\d`)
	reDate    = regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d [AP]M`)
	rePid     = regexp.MustCompile(`pid \d+`)
	reBarePid = regexp.MustCompile(`(?m)(^|> )[1-9]\d*$`)
	reLogTime = regexp.MustCompile(`\d{1,4}-\d\d-\d\d \d\d:\d\d:\d\d,\d\d\d`)
)

// normalize replaces what differs between two runs moments apart: uptimes
// and dates in status lines, and the daemons' folders; with pids (for runs
// against two different daemons) also pids and log timestamps.
func normalize(s string, dirs []string, pids bool) string {
	s = reUptime.ReplaceAllString(s, "uptime U")
	s = reDate.ReplaceAllString(s, "DATE")
	if pids {
		s = rePid.ReplaceAllString(s, "pid N")
		s = reBarePid.ReplaceAllString(s, "${1}N")
		s = reLogTime.ReplaceAllString(s, "TIME")
	}
	for _, d := range dirs {
		s = strings.ReplaceAll(s, d, "$DIR")
	}
	return s
}

func (r result) normalize(dirs []string, pids bool) result {
	return result{normalize(r.stdout, dirs, pids), normalize(r.stderr, dirs, pids), r.code}
}

// compare fails the test when the two runs differ.
var debugPrint = os.Getenv("CTL_DEBUG") != ""

// compare fails the test when the two sides' runs differ.
func compare(t *testing.T, p pair, what string, a, b result) {
	t.Helper()
	if debugPrint {
		t.Logf("%s\n%s", what, a)
	}
	if a != b {
		t.Errorf("supervisorctl %s: %s and %s differ\n=== %s\n%s=== %s\n%s", what, p.a.name, p.b.name, p.a.name, a, p.b.name, b)
	}
}

// expandArgs replaces $CONF, $DIR and $SOCK in args.
func (d *testDaemon) expandArgs(args []string) []string {
	out := make([]string, len(args))
	r := strings.NewReplacer("$CONF", d.conf, "$DIR", d.dir, "$SOCK", d.sock)
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// ctl runs our supervisorctl on the daemon for setting up a test (its
// output is not checked).
func (d *testDaemon) ctl(t *testing.T, line string) {
	t.Helper()
	runOurs("", append([]string{"-c", d.conf}, strings.Fields(line)...)...)
}

// ctlFunc runs one supervisorctl with stdin and args, interrupting it
// (Ctrl-C) after interrupt unless that is 0.
type ctlFunc func(t *testing.T, stdin string, interrupt time.Duration, args ...string) result

func pythonCtl(t *testing.T, stdin string, interrupt time.Duration, args ...string) result {
	if interrupt > 0 {
		return runPythonInterrupted(t, interrupt, args...)
	}
	return runPython(t, stdin, args...)
}

func ourCtl(_ *testing.T, stdin string, interrupt time.Duration, args ...string) result {
	if interrupt == 0 {
		return runProgram(stdin, nil, args...)
	}
	intr := make(chan struct{})
	var out, errb bytes.Buffer
	ready := &readyWriter{w: &out, ready: make(chan struct{})}
	p := &Program{Args: append([]string{pySupervisorctl}, args...), Stdin: strings.NewReader(stdin),
		Stdout: ready, Stderr: &errb, Interrupt: intr, openTTY: noTTY}
	done := make(chan int)
	go func() { done <- p.Run() }()
	code := waitAndInterrupt(ready.ready, done, interrupt, func() { close(intr) })
	return result{ready.String(), errb.String(), code}
}

// readyMarker is what tail -f prints once it is following.
const readyMarker = "==> Press Ctrl-C to exit <==\n"

// readyWriter collects output and closes ready once readyMarker is in it.
type readyWriter struct {
	mu    sync.Mutex
	w     *bytes.Buffer
	ready chan struct{}
	seen  bool
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.w.Write(p)
	if !r.seen && strings.Contains(r.w.String(), readyMarker) {
		r.seen = true
		close(r.ready)
	}
	return n, err
}

func (r *readyWriter) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.String()
}

// waitAndInterrupt waits for the command to be ready (or done), then for
// wait, then interrupts it unless it has ended, and returns its status.
// Waiting for readiness keeps a slow start (Python's imports on a loaded
// machine) from being interrupted.
func waitAndInterrupt(ready <-chan struct{}, done <-chan int, wait time.Duration, interrupt func()) int {
	select {
	case code := <-done:
		return code
	case <-ready:
	case <-time.After(30 * time.Second):
	}
	select {
	case code := <-done:
		return code
	case <-time.After(wait):
	}
	interrupt()
	return <-done
}

// side is half of a comparison: a supervisord serving and a supervisorctl
// asking.
type side struct {
	name string
	bin  string // supervisord
	ctl  ctlFunc
}

// pair is what a differential test compares.
type pair struct{ a, b side }

// ctlPair compares Python's supervisorctl with ours, both served by bin.
func ctlPair(bin, server string) pair {
	return pair{side{"Python's supervisorctl (" + server + " supervisord)", bin, pythonCtl},
		side{"our supervisorctl (" + server + " supervisord)", bin, ourCtl}}
}

// serverPair compares Python's supervisord with ours, both asked by
// Python's supervisorctl.
func serverPair(ours string) pair {
	return pair{side{"Python's supervisord", pySupervisord, pythonCtl}, side{"our supervisord", ours, pythonCtl}}
}

// startPair starts the daemons of p: one, shared, when both sides use the
// same supervisord.
func startPair(t *testing.T, p pair, body string, o daemonOpts) (a, b *testDaemon) {
	t.Helper()
	o.bin = p.a.bin
	a = startDaemon(t, body, o)
	if p.b.bin == p.a.bin {
		return a, a
	}
	o.bin = p.b.bin
	return a, startDaemon(t, body, o)
}

// row is one differential case: supervisorctl -c CONF ARGS... run by
// both sides, each after the same setup.
type row struct {
	args   []string
	setup  []string // command lines run before each side
	stdin  string
	noConf bool // do not pass -c CONF
	settle bool // wait for the daemon to settle after setup
	// exited lists processes to wait for, after setup, until they are
	// EXITED (programs that run briefly).
	exited []string
	// unordered compares stdout's lines as a set: supervisord reports the
	// processes of a group action in the order they happen to finish.
	unordered bool
}

func (r row) name() string {
	if len(r.args) == 0 {
		return "(none)"
	}
	return strings.Join(r.args, " ")
}

// run runs one side of the row on d: its setup, then the command.
func (r row) run(t *testing.T, d *testDaemon, s side) result {
	t.Helper()
	for _, s := range r.setup {
		d.ctl(t, s)
	}
	if r.settle {
		d.settle(t)
	}
	for _, name := range r.exited {
		d.waitState(t, name, client.StateExited)
	}
	a := d.expandArgs(r.args)
	if !r.noConf {
		a = append([]string{"-c", d.conf}, a...)
	}
	res := s.ctl(t, r.stdin, 0, a...)
	if r.unordered {
		lines := strings.SplitAfter(res.stdout, "\n")
		sort.Strings(lines)
		res.stdout = strings.Join(lines, "")
	}
	return res
}

// runRows runs each row on both sides and compares them.
func runRows(t *testing.T, p pair, da, db *testDaemon, rows []row) {
	t.Helper()
	for _, r := range rows {
		ra := r.run(t, da, p.a)
		rb := r.run(t, db, p.b)
		dirs, pids := []string{da.dir, db.dir}, da != db
		na, nb := ra.normalize(dirs, pids), rb.normalize(dirs, pids)
		if pids && na != nb && len(r.args) > 0 && r.args[0] == "maintail" {
			// A byte window of two daemons' logs: their pids can differ in
			// length (they wrap at pid_max, 32768 here), and the window
			// then starts at another point of its first line. Compare the
			// whole lines.
			na.stdout, nb.stdout = dropFirstLine(na.stdout), dropFirstLine(nb.stdout)
		}
		compare(t, p, r.name(), na, nb)
	}
}

// dropFirstLine returns s without its first line.
func dropFirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// runPythonInterrupted runs Python's supervisorctl and sends it SIGINT,
// as Ctrl-C would, wait after it is ready (unless it has ended by then).
func runPythonInterrupted(t *testing.T, wait time.Duration, args ...string) result {
	t.Helper()
	cmd := exec.Command(pySupervisorctl, args...)
	var out, errb bytes.Buffer
	ready := &readyWriter{w: &out, ready: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = ready, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		done <- code
	}()
	code := waitAndInterrupt(ready.ready, done, wait, func() { cmd.Process.Signal(syscall.SIGINT) })
	return result{ready.String(), errb.String(), code}
}

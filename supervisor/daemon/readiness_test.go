package daemon_test

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/testbin"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// Start order and readiness, with real processes and sockets.

var (
	readyOnce             sync.Once
	readyServer, readyCtl string
	readyBuildErr         error
)

// readyBinaries builds the test server and our supervisorctl once, next
// to supervisord (TestMain removes that folder).
func readyBinaries(t *testing.T) (server, ctl string) {
	t.Helper()
	readyOnce.Do(func() {
		dir := filepath.Dir(supervisord)
		readyServer, readyBuildErr = testbin.Build(dir, "readyserver", "github.com/gpudesk/runtime/supervisor/daemon/testdata/readyserver", false)
		if readyBuildErr == nil {
			readyCtl, readyBuildErr = testbin.Build(dir, "supervisorctl", "github.com/gpudesk/runtime/supervisor/cmd/supervisorctl", false)
		}
	})
	if readyBuildErr != nil {
		t.Fatal(readyBuildErr)
	}
	return readyServer, readyCtl
}

// freePorts returns n TCP ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func processInfo(t *testing.T, c *xmlrpc.Client, name string) map[string]any {
	t.Helper()
	v, err := call(t, c, "supervisor.getProcessInfo", name)
	if err != nil {
		t.Fatalf("getProcessInfo %s: %v", name, err)
	}
	return v.(map[string]any)
}

// waitInfo waits until name's info satisfies ok.
func waitInfo(t *testing.T, c *xmlrpc.Client, name string, timeout time.Duration, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// Until the daemon listens, the call fails: try again.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v, err := c.Call(ctx, "supervisor.getProcessInfo", name)
		cancel()
		info, _ := v.(map[string]any)
		if err == nil && ok(info) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s after %v: %v %v", name, what, timeout, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func inState(state string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["statename"] == state }
}

// lineIndex is the index of the first log line matching pattern, or -1.
func lineIndex(lines []string, pattern string) int {
	re := regexp.MustCompile(pattern)
	for i, l := range lines {
		if re.MatchString(l) {
			return i
		}
	}
	return -1
}

// ctlSection points supervisorctl at the harness's socket.
const ctlSection = "[supervisorctl]\nserverurl=unix://%(here)s/sock\n\n"

// Fifty chains of four programs whose servers open their port after a
// random delay, in one daemon: each starts only once the one before it
// accepts connections, every time, although priority says the opposite.
func TestReadiness_chainStartsInDependencyOrder(t *testing.T) {
	server, _ := readyBinaries(t)
	const chains, length = 50, 4
	ports := freePorts(t, chains*length)
	dir := t.TempDir()
	violations := filepath.Join(dir, "violations")
	var b strings.Builder
	b.WriteString(rpcSections)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for c := 0; c < chains; c++ {
		for k := 0; k < length; k++ {
			name := fmt.Sprintf("c%02d_%d", c, k)
			need := "-"
			if k > 0 {
				need = fmt.Sprint(ports[c*length+k-1])
			}
			fmt.Fprintf(&b, "[program:%s]\ncommand=%s %s %d %d %s %s\nstartsecs=0\npriority=%d\nready=tcp:127.0.0.1:%d\nready_timeout=60\n",
				name, server, name, ports[c*length+k], rng.Intn(300), need, violations, 100-k, ports[c*length+k])
			if k > 0 {
				fmt.Fprintf(&b, "depends_on=c%02d_%d\n", c, k-1)
			}
			b.WriteString("\n")
		}
	}
	h := newHarness(t, b.String())
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	for c := 0; c < chains; c++ {
		waitInfo(t, rpc, fmt.Sprintf("c%02d_%d", c, length-1), 120*time.Second, "RUNNING", inState("RUNNING"))
	}
	if data, _ := os.ReadFile(violations); len(data) > 0 {
		t.Errorf("programs started before what they depend on was ready:\n%s", data)
	}
	lines := h.lines()
	for c := 0; c < chains; c++ {
		for k := 1; k < length; k++ {
			ready := lineIndex(lines, fmt.Sprintf(`^INFO ready: c%02d_%d is ready`, c, k-1))
			spawned := lineIndex(lines, fmt.Sprintf(`^INFO spawned: 'c%02d_%d'`, c, k))
			if ready < 0 || spawned < ready {
				t.Errorf("c%02d_%d spawned at line %d, its dependency ready at line %d", c, k, spawned, ready)
			}
		}
	}
	h.exitedCleanly(out)
}

// A program waits for another whose ready check is absent:MARKER; a third
// program removes the marker. Meanwhile the waiting one is STARTING with
// the reason, and supervisorctl ready names it and fails.
func TestReadiness_absentMarkerAndReadyOnAHalfReadySet(t *testing.T) {
	_, ctl := readyBinaries(t)
	dir := t.TempDir()
	marker, goAhead, early := filepath.Join(dir, "container_config"), filepath.Join(dir, "go"), filepath.Join(dir, "early")
	os.WriteFile(marker, []byte("x"), 0o644)
	h := newHarness(t, rpcSections+ctlSection+fmt.Sprintf(`[program:provisioning]
command=/bin/sh -c "while [ ! -e %[2]s ]; do sleep 0.05; done; rm -f %[1]s; exec sleep 3600"
startsecs=0
ready=absent:%[1]s

[program:remover_is_provisioning_itself]
command=/bin/sleep 3600
startsecs=0

[program:app]
command=/bin/sh -c "if [ -e %[1]s ]; then echo started-early > %[3]s; fi; exec sleep 3600"
startsecs=0
depends_on=provisioning
`, marker, goAhead, early))
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	info := waitInfo(t, rpc, "app", 20*time.Second, "waiting", func(m map[string]any) bool {
		return m["statename"] == "STARTING" && strings.HasPrefix(m["description"].(string), "waiting for provisioning: ") &&
			strings.Contains(m["description"].(string), marker+" exists")
	})
	if info["pid"].(int64) != 0 {
		t.Errorf("waiting app has pid %v", info["pid"])
	}
	readyCmd := func(args ...string) (string, int) {
		cmd := exec.Command(ctl, append([]string{"-c", h.conf, "ready"}, args...)...)
		b, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(b), code
	}
	text, code := readyCmd()
	if code != 1 || !strings.Contains(text, "not ready: app (waiting for provisioning: ") || !strings.Contains(text, "not ready: provisioning (") || strings.Contains(text, "remover") {
		t.Errorf("ready on a half-ready set: exit %d, output:\n%s", code, text)
	}
	// Python's supervisorctl shows the same status through our daemon.
	py, _ := exec.Command("/usr/bin/supervisorctl", "-c", h.conf, "status", "app").CombinedOutput()
	if !regexp.MustCompile(`app\s+STARTING\s+waiting for provisioning: `).Match(py) {
		t.Errorf("Python's supervisorctl status: %s", py)
	}
	os.WriteFile(goAhead, nil, 0o644)
	text, code = readyCmd("--wait", "60")
	if code != 0 || strings.TrimSpace(text) != "ready" {
		t.Errorf("ready --wait: exit %d, output:\n%s", code, text)
	}
	if _, err := os.Stat(early); err == nil {
		t.Error("app started while the marker was still there")
	}
	// A program stopped on purpose does not make the box unready.
	if b, err := exec.Command(ctl, "-c", h.conf, "stop", "remover_is_provisioning_itself").CombinedOutput(); err != nil {
		t.Fatalf("stop: %v %s", err, b)
	}
	text, code = readyCmd()
	if code != 0 || strings.TrimSpace(text) != "ready" {
		t.Errorf("ready after a program was stopped on request: exit %d, output:\n%s", code, text)
	}
	h.exitedCleanly(out)
}

// A dependency that goes FATAL makes its dependents FATAL, with the
// reason, instead of a silent hang.
func TestReadiness_fatalDependency(t *testing.T) {
	h := newHarness(t, rpcSections+`[program:caddy]
command=/bin/sh -c "exit 1"
startsecs=1
startretries=1

[program:portal]
command=/bin/sleep 3600
depends_on=caddy
`)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	info := waitInfo(t, rpc, "portal", 30*time.Second, "FATAL", inState("FATAL"))
	if info["description"] != "dependency caddy is FATAL" || info["spawnerr"] != "dependency caddy is FATAL" {
		t.Errorf("portal: %v", info)
	}
	if lineIndex(h.lines(), `^INFO spawned: 'portal'`) >= 0 {
		t.Error("portal was spawned")
	}
	h.exitedCleanly(out)
}

// bind_to: when the X server dies, the desktop bound to it is stopped and
// started again once the X server is back.
func TestReadiness_bindToRestartsWithItsDependency(t *testing.T) {
	h := newHarness(t, rpcSections+`[program:xserver]
command=/bin/sleep 3600
startsecs=0
autorestart=true

[program:kde]
command=/bin/sleep 3600
startsecs=0
bind_to=xserver
`)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	first := waitInfo(t, rpc, "kde", 20*time.Second, "RUNNING", inState("RUNNING"))["pid"].(int64)
	x := processInfo(t, rpc, "xserver")["pid"].(int64)
	if err := exec.Command("kill", "-KILL", fmt.Sprint(x)).Run(); err != nil {
		t.Fatal(err)
	}
	second := waitInfo(t, rpc, "kde", 30*time.Second, "restarted", func(m map[string]any) bool {
		return m["statename"] == "RUNNING" && m["pid"].(int64) != first
	})
	_ = second
	lines := h.lines()
	exited := lineIndex(lines, `^WARN exited: xserver \(terminated by SIGKILL`)
	restart := lineIndex(lines, `^INFO kde: restarting it, as a process it is bound to`)
	stopped := lineIndex(lines, `^WARN stopped: kde \(terminated by SIGTERM\)`)
	xBack := -1
	for i, l := range lines {
		if i > exited && strings.HasPrefix(l, "INFO success: xserver entered RUNNING") {
			xBack = i
			break
		}
	}
	respawn := -1
	for i, l := range lines {
		if i > stopped && strings.HasPrefix(l, "INFO spawned: 'kde'") {
			respawn = i
			break
		}
	}
	if exited < 0 || restart < exited || stopped < restart || xBack < 0 || respawn < xBack {
		t.Errorf("order: xserver exited %d, kde restart %d, kde stopped %d, xserver back %d, kde spawned again %d; log:\n%s",
			exited, restart, stopped, xBack, respawn, strings.Join(lines, "\n"))
	}
	h.exitedCleanly(out)
}

// Checks that hang (a peer that accepts and never answers, an exec that
// never exits) are bounded by their timeouts; meanwhile the API answers
// and other programs start; the start that was not ready in time is a
// failed start; an exec check's exit reaches it although the daemon reaps
// every child.
func TestReadiness_hangingChecksAreBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	h := newHarness(t, rpcSections+fmt.Sprintf(`[program:web]
command=/bin/sleep 3600
startsecs=0
startretries=0
ready=http://%s/
ready_timeout=3
ready_interval=1

[program:slowcheck]
command=/bin/sleep 3600
startsecs=0
startretries=0
ready=exec:/bin/sleep 3600
ready_timeout=3
ready_interval=1

[program:quickcheck]
command=/bin/sleep 3600
startsecs=0
ready=exec:/bin/sh -c "exit 0"

[program:plain]
command=/bin/sleep 3600
startsecs=0
`, l.Addr()))
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	waitInfo(t, rpc, "plain", 20*time.Second, "RUNNING", inState("RUNNING"))
	waitInfo(t, rpc, "quickcheck", 20*time.Second, "RUNNING", inState("RUNNING"))
	// While the checks hang, every call answers well within a deadline.
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := rpc.Call(ctx, "supervisor.getAllProcessInfo")
		cancel()
		if err != nil {
			t.Fatalf("getAllProcessInfo while checks hang: %v", err)
		}
	}
	for _, name := range []string{"web", "slowcheck"} {
		info := waitInfo(t, rpc, name, 30*time.Second, "FATAL", inState("FATAL"))
		if !strings.HasPrefix(info["spawnerr"].(string), "not ready after 3s (ready_timeout): ") {
			t.Errorf("%s: spawnerr %q", name, info["spawnerr"])
		}
	}
	if i := lineIndex(h.lines(), `reaped unknown pid`); i >= 0 {
		t.Errorf("an exec check's child was taken from it: %s", h.lines()[i])
	}
	h.exitedCleanly(out)
}

// Dependents stop before what they depend on, although priority would
// stop them last: on `stop` of the dependency and on shutdown.
func TestReadiness_stopOrderDependentsFirst(t *testing.T) {
	_, ctl := readyBinaries(t)
	dependent := `/bin/sh -c "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done"`
	h := newHarness(t, rpcSections+ctlSection+fmt.Sprintf(`[program:dbus]
command=/bin/sleep 3600
startsecs=0
priority=999

[program:kde]
command=%s
startsecs=0
priority=1
depends_on=dbus
`, dependent))
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	waitInfo(t, rpc, "kde", 20*time.Second, "RUNNING", inState("RUNNING"))
	if _, err := call(t, rpc, "supervisor.stopProcess", "dbus", true); err != nil {
		t.Fatal(err)
	}
	if st := processInfo(t, rpc, "kde")["statename"]; st != "STOPPED" {
		t.Errorf("kde is %v after stop dbus", st)
	}
	lines := h.lines()
	if k, d := lineIndex(lines, `^(INFO|WARN) stopped: kde `), lineIndex(lines, `^WARN stopped: dbus`); k < 0 || d < k {
		t.Errorf("stop dbus: kde stopped at line %d, dbus at %d", k, d)
	}
	started, err := exec.Command(ctl, "-c", h.conf, "start", "kde").CombinedOutput()
	if err != nil || string(started) != "kde: starting after its dependencies: dbus (STOPPED)\nkde: started\n" {
		t.Errorf("supervisorctl start kde: %v\n%s", err, started)
	}
	if st := processInfo(t, rpc, "dbus")["statename"]; st != "RUNNING" {
		t.Errorf("start kde left dbus %v", st)
	}
	lines = h.lines()
	if i := lineIndex(lines, `^INFO kde: starting dbus first, as kde depends on it`); i < 0 {
		t.Errorf("start kde did not say it starts dbus first:\n%s", strings.Join(lines, "\n"))
	}
	n := len(lines)
	h.exitedCleanly(out)
	lines = h.lines()[n:]
	if k, d := lineIndex(lines, `^(INFO|WARN) stopped: kde `), lineIndex(lines, `^WARN stopped: dbus`); k < 0 || d < k {
		t.Errorf("shutdown: kde stopped at line %d, dbus at %d:\n%s", k, d, strings.Join(lines, "\n"))
	}
}

// ready_restart: a READY program whose check fails three times in a row
// is restarted.
func TestReadiness_readyRestart(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	os.WriteFile(flag, nil, 0o644)
	h := newHarness(t, rpcSections+fmt.Sprintf(`[program:app]
command=/bin/sleep 3600
startsecs=0
ready=file:%s
ready_interval=0.2
ready_restart=true
`, flag))
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	first := waitInfo(t, rpc, "app", 20*time.Second, "RUNNING", inState("RUNNING"))["pid"].(int64)
	h.waitFor(`^INFO ready: app is ready`, 20*time.Second)
	os.Remove(flag)
	h.waitFor(`^WARN not ready: app failed its ready check \(file:.*\) 3 times in a row`, 20*time.Second)
	h.waitFor(`^INFO app: restarting it \(ready_restart\)`, 20*time.Second)
	os.WriteFile(flag, nil, 0o644)
	waitInfo(t, rpc, "app", 30*time.Second, "RUNNING again", func(m map[string]any) bool {
		return m["statename"] == "RUNNING" && m["pid"].(int64) != first
	})
	h.exitedCleanly(out)
}

// The same file in Python's supervisord: it ignores the extensions and
// starts by priority; ours starts by dependency.
func TestReadiness_pythonStartsByPriority(t *testing.T) {
	body := `[program:a]
command=/bin/sleep 3600
startsecs=0
priority=3

[program:b]
command=/bin/sleep 3600
startsecs=0
priority=2
depends_on=a

[program:c]
command=/bin/sleep 3600
startsecs=0
priority=1
depends_on=b
ready=tcp:127.0.0.1:1
ready_timeout=30
`
	order := func(bin string) []string {
		h := newHarness(t, body)
		h.run(bin)
		h.waitFor(`spawned: 'c'`, 20*time.Second)
		h.waitFor(`spawned: 'a'`, 20*time.Second)
		h.waitFor(`spawned: 'b'`, 20*time.Second)
		var got []string
		for _, l := range h.lines() {
			if m := regexp.MustCompile(`spawned: '(\w)'`).FindStringSubmatch(l); m != nil {
				got = append(got, m[1])
			}
		}
		h.stop(30 * time.Second)
		return got
	}
	if got := strings.Join(order("/usr/bin/supervisord"), ""); got != "cba" {
		t.Errorf("Python started %q, want by priority cba", got)
	}
	if got := strings.Join(order(supervisord), ""); got != "abc" {
		t.Errorf("ours started %q, want by dependency abc", got)
	}
}

// Removing a group others depend on is not refused: a dependent started
// later waits, saying why.
func TestReadiness_removedDependencyLeavesDependentsWaiting(t *testing.T) {
	h := newHarness(t, rpcSections+`[program:caddy]
command=/bin/sleep 3600
startsecs=0

[program:portal]
command=/bin/sleep 3600
startsecs=0
depends_on=caddy
`)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	waitInfo(t, rpc, "portal", 20*time.Second, "RUNNING", inState("RUNNING"))
	// Stopping caddy stops portal first.
	if _, err := call(t, rpc, "supervisor.stopProcess", "caddy", true); err != nil {
		t.Fatalf("stop caddy: %v", err)
	}
	if _, err := call(t, rpc, "supervisor.removeProcessGroup", "caddy"); err != nil {
		t.Fatalf("remove caddy: %v", err)
	}
	if _, err := call(t, rpc, "supervisor.startProcess", "portal", false); err != nil {
		t.Fatalf("start portal: %v", err)
	}
	info := processInfo(t, rpc, "portal")
	if info["statename"] != "STARTING" || info["description"] != "waiting for caddy: not in the running configuration (removed? supervisorctl add it)" {
		t.Errorf("portal: %v", info)
	}
	if _, err := call(t, rpc, "supervisor.addProcessGroup", "caddy"); err != nil {
		t.Fatalf("add caddy: %v", err)
	}
	waitInfo(t, rpc, "portal", 20*time.Second, "RUNNING once caddy is back", inState("RUNNING"))
	h.exitedCleanly(out)
}

// A dependency that becomes READY in a pass after its dependent was
// looked at (the dependent sorts first) opens the gate at once, not at the
// next unrelated wake-up (which may be an hour away once the loop is
// idle): the loop passes again after a readiness change.
func TestReadiness_gateOpensInTheSamePassOrder(t *testing.T) {
	// No API calls here: each would wake the loop and hide the stall.
	h := newHarness(t, `[program:a_app]
command=/bin/sleep 3600
startsecs=0
depends_on=b_dep

[program:b_dep]
command=/bin/sleep 3600
startsecs=3
`)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitFor(`^INFO success: b_dep entered RUNNING`, 20*time.Second)
	h.waitFor(`^INFO success: a_app entered RUNNING`, 20*time.Second)
	h.exitedCleanly(out)
}

// supervisorctl restart of a dependency (a stop, then a start, from
// Python's supervisorctl as from ours) brings back the dependents its stop
// took down, waiting for it as at boot; one stopped by itself before
// stays stopped. A ready_restart of the dependency brings them back too.
func TestReadiness_restartOfADependencyBringsBackItsDependents(t *testing.T) {
	_, ctl := readyBinaries(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	os.WriteFile(flag, nil, 0o644)
	h := newHarness(t, rpcSections+ctlSection+fmt.Sprintf(`[program:dbus]
command=/bin/sleep 3600
startsecs=0
priority=999
ready=file:%s
ready_interval=0.2
ready_restart=true

[program:kde]
command=/bin/sleep 3600
startsecs=0
priority=1
depends_on=dbus

[program:panel]
command=/bin/sleep 3600
startsecs=0
depends_on=kde
`, flag))
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	rpc := h.rpcClient()
	pids := func() (kde, panel int64) {
		return processInfo(t, rpc, "kde")["pid"].(int64), processInfo(t, rpc, "panel")["pid"].(int64)
	}
	waitInfo(t, rpc, "panel", 20*time.Second, "RUNNING", inState("RUNNING"))
	for _, c := range [][]string{{ctl, "-c", h.conf}, {"/usr/bin/supervisorctl", "-c", h.conf}} {
		kde0, panel0 := pids()
		if out, err := exec.Command(c[0], append(c[1:], "restart", "dbus")...).CombinedOutput(); err != nil {
			t.Fatalf("%s restart dbus: %v\n%s", c[0], err, out)
		}
		for _, name := range []string{"kde", "panel"} {
			waitInfo(t, rpc, name, 20*time.Second, "RUNNING again", func(m map[string]any) bool {
				return m["statename"] == "RUNNING" && m["pid"].(int64) != map[string]int64{"kde": kde0, "panel": panel0}[name]
			})
		}
	}
	h.waitFor(`^INFO starting kde again, as it was stopped with dbus`, 20*time.Second)
	h.waitFor(`^INFO starting panel again, as it was stopped with kde`, 20*time.Second)

	// ready_restart of dbus: the same.
	kde0, _ := pids()
	os.Remove(flag)
	h.waitFor(`^INFO dbus: restarting it \(ready_restart\)`, 20*time.Second)
	os.WriteFile(flag, nil, 0o644)
	waitInfo(t, rpc, "kde", 30*time.Second, "RUNNING after dbus's ready_restart", func(m map[string]any) bool {
		return m["statename"] == "RUNNING" && m["pid"].(int64) != kde0
	})

	// kde stopped by itself, then dbus: starting dbus leaves kde (and panel,
	// which waits for it) stopped.
	if _, err := call(t, rpc, "supervisor.stopProcess", "kde", true); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, rpc, "supervisor.stopProcess", "dbus", true); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, rpc, "supervisor.startProcess", "dbus", true); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, rpc, "dbus", 20*time.Second, "RUNNING", inState("RUNNING"))
	time.Sleep(time.Second) // a measurement of absence: nothing may start kde in the next passes
	for _, name := range []string{"kde", "panel"} {
		if st := processInfo(t, rpc, name)["statename"]; st != "STOPPED" {
			t.Errorf("%s is %v after start dbus (kde was stopped by itself)", name, st)
		}
	}
	h.exitedCleanly(out)
}

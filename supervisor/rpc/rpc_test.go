package rpc_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
	"github.com/gpudesk/runtime/supervisor/internal/testbin"
)

var supervisord string

// cleanups run after every test, for what tests share (the fuzzing daemon).
var cleanups []func()

func TestMain(m *testing.M) {
	bin, dir, err := testbin.Supervisord(raceEnabled)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	supervisord = bin
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

const conf = `[unix_http_server]
file=%(here)s/sock

[supervisord]
nodaemon=true
silent=true
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
identifier=ident-x
user=root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files=conf.d/*.conf

[program:sleeper]
command=/bin/sleep 1000
startsecs=0

[program:echoer]
command=/bin/sh -c "echo hello; echo oops >&2; exec sleep 1000"
startsecs=0
stdout_logfile=%(here)s/echoer.out
stderr_logfile=%(here)s/echoer.err

[program:crasher]
command=/bin/sh -c "sleep 0.2; exit 3"
startretries=0

[program:idle]
command=/bin/sleep 1000
autostart=false
startsecs=0
; Python's child keeps Python's signal handlers between fork and exec, so
; a stop right after a start can be lost until the SIGKILL: keep it short.
stopwaitsecs=2

[program:missing]
command=/nonexistent/program
autostart=false

[program:notexec]
command=%(here)s/data.txt
autostart=false

[program:nolog]
command=/bin/sleep 1000
stdout_logfile=NONE
startsecs=0

[program:cat]
command=/bin/cat
startsecs=0
stdout_logfile=%(here)s/cat.out

[group:g]
programs=a,b

[program:a]
command=/bin/sleep 1000
startsecs=0

[program:b]
command=/bin/sleep 1000
startsecs=0
priority=5
`

// session runs the call script against one daemon and returns its lines,
// normalised.
func session(t *testing.T, bin string) []string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"supervisord.conf":    conf,
		"conf.d/changed.conf": "[program:changed]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
		"conf.d/removed.conf": "[program:removed]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
		"data.txt":            "not a program\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := daemontest.Start(t, bin, filepath.Join(dir, "supervisord.conf"), daemontest.Options{Output: os.Stderr})
	sock := filepath.Join(dir, "sock")
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatalf("%s did not open %s", bin, sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	script, _ := filepath.Abs("testdata/calls.py")
	py := exec.Command("/usr/bin/python3", script, sock, dir)
	py.Stderr = os.Stderr
	out, err := py.Output()
	if err != nil {
		t.Fatalf("calls.py against %s: %v\n%s", bin, err, out)
	}
	select {
	case <-d.Exited():
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not exit after shutdown", bin)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		lines = append(lines, normalize(sc.Text(), dir))
	}
	return lines
}

var (
	timeKeys   = regexp.MustCompile(`"(pid|start|stop|now)": [1-9]\d*`)
	uptimeRE   = regexp.MustCompile(`pid \d+, uptime \d+:\d\d:\d\d`)
	dateRE     = regexp.MustCompile(`[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M`)
	autoLogRE  = regexp.MustCompile(`---ident-x-[^"/]*?\.log`)
	getPIDLine = regexp.MustCompile(`("call": \["supervisor.getPID"\], "result": )\d+`)
)

func normalize(line, dir string) string {
	line = strings.ReplaceAll(line, dir, "DIR")
	line = timeKeys.ReplaceAllString(line, `"$1": N`)
	line = uptimeRE.ReplaceAllString(line, "pid N, uptime U")
	line = dateRE.ReplaceAllString(line, "DATE")
	line = autoLogRE.ReplaceAllString(line, "---ident-x-R.log")
	line = getPIDLine.ReplaceAllString(line, "${1}N")
	return line
}

// TestRPC_matchesPythonSupervisord drives Python's supervisord and ours
// with Python's xmlrpc.client and supervisor's own transport through the
// same sequence of calls, and compares every answer.
func TestRPC_matchesPythonSupervisord(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	py := session(t, "/usr/bin/supervisord")
	ours := withoutExtensions(session(t, supervisord))
	if len(py) != len(ours) {
		t.Errorf("Python answered %d calls, ours %d", len(py), len(ours))
	}
	for i := 0; i < len(py) && i < len(ours); i++ {
		if py[i] != ours[i] && !knownDifference(py[i], ours[i]) {
			t.Errorf("call %d:\n Python %s\n ours   %s", i, py[i], ours[i])
		}
	}
}

// extensionMethods are methods of ours alone (see the README), which
// Python's session cannot have: left out of the comparison.
var extensionMethods = []string{"supervisor.getReadiness"}

// withoutExtensions drops the calls that introspect extension methods and
// their names from system.listMethods.
func withoutExtensions(lines []string) []string {
	var out []string
next:
	for _, l := range lines {
		for _, m := range extensionMethods {
			if strings.Contains(l, `"call": ["system.method`) && strings.Contains(l, `", "`+m+`"]`) {
				continue next
			}
			l = strings.ReplaceAll(l, `"`+m+`", `, "")
		}
		out = append(out, l)
	}
	return out
}

// knownDifference accepts answers that differ on purpose or by timing.
func knownDifference(py, ours string) bool {
	var p, o map[string]any
	json.Unmarshal([]byte(py), &p)
	json.Unmarshal([]byte(ours), &o)
	call, _ := p["call"].([]any)
	if len(call) == 0 {
		return false
	}
	switch call[0] {
	case "system.methodHelp":
		// Our help texts are our own words, but with Python's tags: the
		// same @param types and names and the same @return type.
		ph, ok1 := p["result"].(string)
		oh, ok2 := o["result"].(string)
		return ok1 && ok2 && strings.TrimSpace(oh) != "" && helpTags(ph) == helpTags(oh)
	case "supervisor.stopProcessGroup", "supervisor.stopAllProcesses", "supervisor.stopProcess":
		// Both report stops in the order the processes exit, which
		// depends on timing: compare them as sets.
		return sameSet(p["result"], o["result"])
	}
	return false
}

// helpTags reduces a method's help to its tags: "@param TYPE NAME" and
// "@return TYPE", one per line.
func helpTags(help string) string {
	var tags []string
	for _, l := range strings.Split(help, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "@param":
			tags = append(tags, strings.Join(f[:3], " "))
		case len(f) >= 2 && f[0] == "@return":
			tags = append(tags, strings.Join(f[:2], " "))
		}
	}
	return strings.Join(tags, "\n")
}

func sameSet(a, b any) bool {
	as, ok1 := a.([]any)
	bs, ok2 := b.([]any)
	if !ok1 || !ok2 || len(as) != len(bs) {
		return false
	}
	key := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	count := map[string]int{}
	for _, x := range as {
		count[key(x)]++
	}
	for _, x := range bs {
		count[key(x)]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

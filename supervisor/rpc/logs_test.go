package rpc_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// neverStartedConf has a program with AUTO logs and one with a fixed log
// path, neither ever started.
const neverStartedConf = `[unix_http_server]
file=%(here)s/sock

[supervisord]
nodaemon=true
silent=true
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface

[program:auto]
command=/bin/sleep 1000
autostart=false

[program:fixed]
command=/bin/sleep 1000
autostart=false
stdout_logfile=%(here)s/fixed.log
`

// neverStartedScript asks each program's log names, tails, reads and
// clears them, and says whether the file exists after the clear.
const neverStartedScript = `
import os, sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
sock, d = sys.argv[1], sys.argv[2]
s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport('', '', 'unix://' + sock))
def call(f, *a):
    try:
        return repr(f(*a))
    except xmlrpc.client.Fault as e:
        return 'fault %d %s' % (e.faultCode, e.faultString.replace(d, 'DIR'))
for n in ('auto', 'fixed'):
    info = s.supervisor.getProcessInfo(n)
    out = info['stdout_logfile']
    print(n, 'stdout_logfile', out.replace(d, 'DIR').split('---')[0], 'exists', os.path.exists(out))
    print(n, 'tail', call(s.supervisor.tailProcessStdoutLog, n, 0, 100))
    print(n, 'read', call(s.supervisor.readProcessStdoutLog, n, 0, 100))
    print(n, 'clear', call(s.supervisor.clearProcessLogs, n), 'exists', os.path.exists(out))
    print(n, 'read', call(s.supervisor.readProcessStdoutLog, n, 0, 100))
`

func neverStartedSession(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	script := filepath.Join(dir, "calls.py")
	os.WriteFile(conf, []byte(neverStartedConf), 0o644)
	os.WriteFile(script, []byte(neverStartedScript), 0o644)
	d := exec.Command(bin, "-c", conf)
	d.Stdout, d.Stderr = os.Stderr, os.Stderr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		d.Process.Signal(syscall.SIGTERM)
		d.Wait()
	}()
	sock := filepath.Join(dir, "sock")
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatalf("%s did not open %s", bin, sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	py := exec.Command("/usr/bin/python3", script, sock, dir)
	py.Stderr = os.Stderr
	out, err := py.Output()
	if err != nil {
		t.Fatalf("calls against %s: %v\n%s", bin, err, out)
	}
	return string(out)
}

// TestRPC_logsOfANeverStartedProgram: with log files opened only when a
// program starts, a never-started program's logs answer as Python's: the
// AUTO file exists (empty) from the start, a fixed path does not exist
// until the first start (tail is empty, read is NO_FILE), and clearing a
// stopped program's log leaves an empty file, not a missing one.
func TestRPC_logsOfANeverStartedProgram(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	py := neverStartedSession(t, "/usr/bin/supervisord")
	ours := neverStartedSession(t, supervisord)
	if py != ours {
		t.Errorf("Python:\n%s\nours:\n%s", py, ours)
	}
	if !strings.Contains(py, "fixed read fault 20 NO_FILE: DIR/fixed.log") {
		t.Errorf("Python's answers are not what this test expects:\n%s", py)
	}
}

package daemon_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// debugBody has one program per kind of output Python logs at debug: text
// on stdout and on stderr (stdout_logfile=NONE: the daemon log still gets
// it), bytes that are not UTF-8, text between the capture tokens, and an
// event listener's protocol line.
// Each writes once, so the chunks are the same in both daemons.
const debugBody = `
[program:text]
command=/bin/sh -c "printf 'hello w\303\266rld\n'; exec sleep 30"
stdout_logfile=NONE
startsecs=0

[program:err]
command=/bin/sh -c "printf 'oops\n' >&2; exec sleep 30"
startsecs=0

[program:bin]
command=/bin/sh -c "printf '\210\n'"
startsecs=0
autorestart=false

[program:comm]
command=/bin/sh -c "printf '<!--XSUPERVISOR:BEGIN-->hi<!--XSUPERVISOR:END-->'; exec sleep 30"
stdout_capture_maxbytes=100
startsecs=0

[eventlistener:lis]
command=/bin/sh -c "printf 'READY\n'; exec sleep 30"
events=PROCESS_STATE_FATAL
startsecs=0
`

// debugWant are the messages both daemons must write (text after the
// level, with the newlines of the log file).
var debugWant = []string{
	"DEBG 'text' stdout output:\nhello wörld\n\n",
	"DEBG 'err' stderr output:\noops\n\n",
	"DEBG 'bin' stdout output:\nUndecodable: b'\\x88\\n'\n",
	"DEBG 'lis' stdout output:\nb'READY\\n'\n",
	"DEBG lis: ACKNOWLEDGED -> READY\n",
	"DEBG received SIGCHLD indicating a child quit\n",
	"DEBG 'comm' stdout output:\nhi\n",
	"DEBG 'comm' stdout emitted a comm event\n",
}

// TestDaemon_debugLogMatchesPython runs Python's supervisord and ours with
// -e debug and requires Python's messages for child output, undecodable
// output, listener output and protocol states, and SIGCHLD.
func TestDaemon_debugLogMatchesPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	for _, bin := range []string{"/usr/bin/supervisord", supervisord} {
		h := start(t, bin, debugBody, "-e", "debug")
		log := h.waitForText(debugWant, 30*time.Second)
		// Python reads a child's last output before it reaps the child,
		// then logs the SIGCHLD: the line comes after bin's output.
		out := strings.Index(log, debugWant[2])
		if sig := strings.Index(log, debugWant[5]); sig < out {
			t.Errorf("%s: SIGCHLD logged before the output of the child that quit:\n%s", bin, log)
		}
		if err := h.stop(20 * time.Second); err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		if bin != supervisord {
			continue
		}
		// The end of a stream is logged as Python's dispatcher close
		// (Python logs it only when it reads the EOF before it reaps the
		// child, so its own log does not always have it).
		final, _ := os.ReadFile(h.log)
		if !regexp.MustCompile(`DEBG fd \d+ closed, stopped monitoring <POutputDispatcher at \d+ for <Subprocess at \d+ with name bin in state \w+> \(stdout\)>`).Match(final) {
			t.Errorf("%s: no 'fd N closed, stopped monitoring' line for bin's stdout:\n%s", bin, final)
		}
	}
}

// TestDaemon_infoLogHasNoOutput checks that at the default level child
// output stays out of the daemon log (and NONE logs stay unread).
func TestDaemon_infoLogHasNoOutput(t *testing.T) {
	h := start(t, supervisord, debugBody)
	h.waitFor(`exited: bin \(exit status 0; expected\)`, 30*time.Second)
	if err := h.stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(h.log)
	if strings.Contains(string(data), "output:") || strings.Contains(string(data), "DEBG") {
		t.Errorf("debug lines at loglevel=info:\n%s", data)
	}
}

// waitForText waits until the daemon log holds every string of want and
// returns it.
func (h *harness) waitForText(want []string, timeout time.Duration) string {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(h.log)
		log := string(data)
		var missing []string
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return log
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: after %v the log lacks %q:\n%s", h.cmd.Path, timeout, missing, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

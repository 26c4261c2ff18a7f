package provisioner

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/internal/testkit"
)

// TestScriptsRun_ForwardsSignals runs the README's first command,
// scripts/run, and sends SIGTERM, SIGINT or SIGHUP to the script (not to
// the stack): the script must stop supervisord cleanly (SIGHUP as
// SIGTERM: supervisord would reload), wait for it and exit, leaving no
// program of the stack running.
func TestScriptsRun_ForwardsSignals(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed for scripts/run's demo program (Debian package python3)")
	}
	repo, err := filepath.Abs("../..")
	must(t, err)
	// A suite started under nohup has SIGHUP ignored, and the script
	// would inherit that: a shell cannot trap a signal ignored when it
	// starts, so the SIGHUP case would wait forever. While this handler
	// is installed, children start with SIGHUP at its default.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for _, c := range []struct {
		send     syscall.Signal
		received string // what supervisord's log says it got
	}{
		{syscall.SIGTERM, "received SIGTERM indicating exit request"},
		{syscall.SIGINT, "received SIGINT indicating exit request"},
		{syscall.SIGHUP, "received SIGTERM indicating exit request"},
	} {
		t.Run(c.send.String(), func(t *testing.T) {
			out := &syncBuf{}
			cmd := exec.Command(filepath.Join(repo, "scripts/run"))
			cmd.Dir = repo
			// KEEP=1: the test reads supervisord's log in the root, then
			// removes it. CADDY=none: ports 1111 and 8080 are the machine's.
			cmd.Env = append(os.Environ(), "KEEP=1", "CADDY=none", "WEB_PASSWORD=scripts-run-test")
			cmd.Stdout, cmd.Stderr = out, out
			// Its own process group, as a terminal would give it: the
			// signal goes to the script alone.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			must(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			stopped := false
			root := ""
			t.Cleanup(func() {
				if stopped {
					return
				}
				// The script's group, then the stack, which runs in a
				// session of its own and holds the script's stdout (Wait
				// waits for it): a failed case must not hang the suite.
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				if root != "" {
					killMentioning(root)
				}
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					t.Errorf("scripts/run's output is still held 30 s after it was killed: %q", processesMentioning(root))
				}
			})
			rootLine := regexp.MustCompile(`scripts/run: temporary root (\S+)`)
			// Building the binaries comes first: minutes on a loaded machine.
			deadline := time.Now().Add(10 * time.Minute)
			for root == "" || !exists(filepath.Join(root, "run/http_ports/8080")) || !exists(filepath.Join(root, "run/supervisord.pid")) {
				select {
				case err := <-exited:
					stopped = true
					t.Fatalf("scripts/run exited before the stack was up: %v\n%s", err, out.String())
				case <-time.After(100 * time.Millisecond):
				}
				if m := rootLine.FindStringSubmatch(out.String()); m != nil && root == "" {
					root = m[1]
					t.Cleanup(func() { os.RemoveAll(root) })
				}
				if time.Now().After(deadline) {
					t.Fatalf("the stack did not come up (demo registered, supervisord's pid file); output:\n%s", out.String())
				}
			}
			pidText := strings.TrimSpace(read(t, filepath.Join(root, "run/supervisord.pid")))
			pid, err := strconv.Atoi(pidText)
			must(t, err)
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != filepath.Join(repo, "bin/supervisord") {
				t.Fatalf("pid %d runs %q, not bin/supervisord", pid, exe)
			}

			must(t, cmd.Process.Signal(c.send))
			select {
			case err := <-exited:
				stopped = true
				if err != nil {
					t.Errorf("scripts/run exited with %v after %v (want 0: supervisord stopped cleanly)", err, c.send)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("scripts/run did not exit after %v; output:\n%s", c.send, out.String())
			}
			if err := syscall.Kill(pid, 0); err == nil {
				t.Errorf("supervisord (pid %d) still runs after scripts/run exited", pid)
			}
			if left := processesMentioning(root); len(left) > 0 {
				t.Errorf("programs of the stack still run after scripts/run exited: %q", left)
			}
			log := read(t, filepath.Join(root, "var/log/supervisor/supervisor.log"))
			if !strings.Contains(log, c.received) || !strings.Contains(log, "stopped: demo") {
				t.Errorf("supervisor.log does not show a clean stop (%q, stopped: demo):\n%s", c.received, log)
			}
			// The shipped provisioner.conf's programs run with the
			// repository's binary and the root's paths.
			if !strings.Contains(log, "exited: workspace-sync (exit status 0; expected)") || !strings.Contains(read(t, filepath.Join(root, "var/log/sync.log")), "nothing to move to the workspace") {
				t.Errorf("workspace-sync did not run from the repository on the root:\n%s", log)
			}
			if !strings.Contains(out.String(), "scripts/run: "+sigName(c.send)+": stopping the stack") {
				t.Errorf("the script did not say it forwards %v:\n%s", c.send, out.String())
			}
		})
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP"}[s]
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// processesMentioning lists the command lines under /proc that hold s.
func processesMentioning(s string) []string {
	var out []string
	m, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range m {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// killMentioning sends SIGKILL to every process whose command line
// contains s (the stack's programs name the temporary root).
func killMentioning(s string) {
	m, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range m {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// syncBuf is written by the command's output copiers and read by the test.
type syncBuf = testkit.Buffer

// Package daemontest runs a supervisord for a test: ours or Python's, in
// the foreground on a configuration in a temporary folder, stopped when
// the test ends. It is the one harness the daemon, rpc, ctl and client
// tests start their daemons with; each package adds what it needs on top
// (its own configuration header, child programs, comparisons).
package daemontest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/client"
)

// Python is Debian's Python supervisord, the reference.
const Python = "/usr/bin/supervisord"

// RequirePython fails the test (it never skips) when Python supervisor is
// not installed: the tests compare against it.
func RequirePython(t testing.TB) {
	t.Helper()
	for _, bin := range []string{Python, "/usr/bin/supervisorctl"} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("Debian's Python supervisor is not installed (%s is missing): these tests compare against it; "+
				"scripts/test installs it (apt-get install supervisor)", bin)
		}
	}
}

// Options say how to run a daemon.
type Options struct {
	// Args come after "-c CONF".
	Args []string
	// Prefix runs the daemon under another program: Prefix[0] is run with
	// Prefix[1:], then the daemon's path, "-c", CONF and Args (unshare).
	Prefix []string
	// Output receives the daemon's stdout and stderr (nil: DIR/daemon.out).
	Output io.Writer
	// Stdout, when set, receives stdout alone (Output then gets stderr).
	Stdout io.Writer
	// Dir is the daemon's working folder ("": the test's).
	Dir string
	// Setpgid runs it in its own process group, so that the clean-up can
	// kill whatever it leaves behind.
	Setpgid bool
	// StopTimeout is how long the clean-up waits after SIGTERM before
	// SIGKILL (0: 20 s).
	StopTimeout time.Duration
	// ExtraFiles are inherited by the daemon as descriptors 3, 4, ...
	// without close-on-exec (exec.Cmd's ExtraFiles).
	ExtraFiles []*os.File
}

// Daemon is one running supervisord.
type Daemon struct {
	t      testing.TB
	Bin    string
	Conf   string
	Cmd    *exec.Cmd
	out    *os.File // DIR/daemon.out when Output is nil
	exited chan struct{}
	err    error // the exit, once exited is closed
}

// Start runs bin -c conf with o and stops it (SIGTERM, then SIGKILL) when
// the test ends.
func Start(t testing.TB, bin, conf string, o Options) *Daemon {
	t.Helper()
	d := &Daemon{t: t, Bin: bin, Conf: conf, exited: make(chan struct{})}
	args := append([]string{"-c", conf}, o.Args...)
	name := bin
	if len(o.Prefix) > 0 {
		name = o.Prefix[0]
		args = append(append(append([]string{}, o.Prefix[1:]...), bin), args...)
	}
	d.Cmd = exec.Command(name, args...)
	d.Cmd.Dir = o.Dir
	d.Cmd.ExtraFiles = o.ExtraFiles
	out := o.Output
	if out == nil {
		f, err := os.Create(filepath.Join(filepath.Dir(conf), "daemon.out"))
		if err != nil {
			t.Fatal(err)
		}
		d.out, out = f, f
	}
	d.Cmd.Stdout, d.Cmd.Stderr = out, out
	if o.Stdout != nil {
		d.Cmd.Stdout = o.Stdout
	}
	if o.Setpgid {
		d.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := d.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.Cmd.Wait()
		if d.out != nil {
			d.out.Close()
		}
		close(d.exited)
	}()
	timeout := o.StopTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	t.Cleanup(func() { d.Stop(timeout) })
	return d
}

// Exited is closed once the daemon (or its Prefix program) has exited;
// Err is its exit then.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Err is the daemon's exit (nil before it has exited).
func (d *Daemon) Err() error {
	select {
	case <-d.exited:
		return d.err
	default:
		return nil
	}
}

// Output is what the daemon wrote to DIR/daemon.out (when Options.Output
// was nil).
func (d *Daemon) Output() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(d.Conf), "daemon.out"))
	return string(b)
}

// Stop sends SIGTERM and waits up to timeout, then kills the daemon (and
// its process group when it has one) and waits for it.
func (d *Daemon) Stop(timeout time.Duration) {
	select {
	case <-d.exited:
		return
	default:
	}
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(timeout):
		if d.Cmd.SysProcAttr != nil && d.Cmd.SysProcAttr.Setpgid {
			syscall.Kill(-d.Cmd.Process.Pid, syscall.SIGKILL)
		}
		d.Cmd.Process.Kill()
		<-d.exited
	}
}

// WaitExit waits up to timeout for the daemon to exit and returns its
// exit, failing the test when it does not.
func (d *Daemon) WaitExit(timeout time.Duration) error {
	d.t.Helper()
	select {
	case <-d.exited:
		return d.err
	case <-time.After(timeout):
		d.t.Fatalf("%s did not exit within %v", d.Bin, timeout)
		return nil
	}
}

// LogLines returns the lines of a supervisord log file without their
// timestamps ("2026-11-27 09:05:44,947 ").
func LogLines(path string) []string {
	data, _ := os.ReadFile(path)
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if len(l) > 24 && l[4] == '-' && l[23] == ' ' {
			l = l[24:]
		}
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// WaitLog waits until the log file at path has a line matching pattern
// and returns it.
func WaitLog(t testing.TB, path, pattern string, timeout time.Duration) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range LogLines(path) {
			if re.MatchString(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %q after %v; log:\n%s", pattern, timeout, strings.Join(LogLines(path), "\n"))
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Settle waits until the daemon answers c and no process is STARTING,
// BACKOFF or STOPPING, within limit (each call given a quarter of it, at
// least 5 s). It fails the test, with the daemon's output, when the daemon
// exits first or does not settle.
func (d *Daemon) Settle(c *client.Client, limit time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			d.t.Fatalf("%s exited at start (%v):\n%s", d.Bin, d.err, d.Output())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(5*time.Second, limit/4))
		infos, err := c.GetAllProcessInfo(ctx)
		cancel()
		if err == nil {
			busy := false
			for _, info := range infos {
				switch info.State {
				case client.StateStarting, client.StateBackoff, client.StateStopping:
					busy = true
					last = fmt.Sprintf("%s %s", info.Name, info.StateName)
				}
			}
			if !busy {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("%s did not settle within %v: %s", d.Bin, limit, last)
}

// Buffer collects a daemon's output (Options.Output) while the test reads
// it: safe for the writing goroutines and the reader at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

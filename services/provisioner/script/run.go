package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LockFile, in the workspace, stops provisioning from running again.
const LockFile = ".update_lock"

// lastLines is how many of the script's last lines the status keeps.
const lastLines = 20

// maxLine bounds one logged line.
const maxLine = 64 << 10

// Command is one run of a prepared script.
type Command struct {
	Path       string   // the prepared script
	HasShebang bool     // else run with bash
	Dir        string   // its working folder (the workspace)
	Env        []string // its whole environment
	Cred       *syscall.Credential
	Timeout    time.Duration // 0: none
	// TimeoutName names the setting in the timeout's message (default
	// PROVISIONING_TIMEOUT).
	TimeoutName string
	KillGrace   time.Duration // SIGTERM to SIGKILL (default 10 s)
	Out         io.Writer     // timestamped lines
	// Drain bounds how long output is read after the script exits, when
	// a process it left behind holds the pipe (default 2 s).
	Drain time.Duration
}

// Outcome is how a run ended.
type Outcome struct {
	ExitCode  int
	Duration  time.Duration
	LastLines []string
	Err       error // why it did not succeed: exit status, signal, timeout, start failure
}

// Run runs c and waits for it. The script runs in its own process group;
// a timeout or ctx ending sends SIGTERM to the group, then SIGKILL after
// KillGrace.
func (c Command) Run(ctx context.Context) Outcome {
	if c.KillGrace == 0 {
		c.KillGrace = 10 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Second
	}
	start := time.Now()
	argv := []string{c.Path}
	if !c.HasShebang {
		argv = []string{"bash", c.Path}
	}
	path := argv[0]
	if !c.HasShebang {
		p, err := exec.LookPath("bash")
		if err != nil {
			return Outcome{ExitCode: -1, Err: fmt.Errorf("the script has no #! line and bash is not found: %w", err)}
		}
		path = p
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Outcome{ExitCode: -1, Err: err}
	}
	lines := &ring{max: lastLines}
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyLines(r, c.Out, lines)
	}()
	devnull, _ := os.Open(os.DevNull)
	proc, err := os.StartProcess(path, argv, &os.ProcAttr{
		Dir: c.Dir, Env: c.Env, Files: []*os.File{devnull, w, w},
		Sys: &syscall.SysProcAttr{Setpgid: true, Credential: c.Cred},
	})
	w.Close()
	if devnull != nil {
		devnull.Close()
	}
	if err != nil {
		r.Close()
		<-done
		return Outcome{ExitCode: -1, Err: fmt.Errorf("starting the script: %w", err), Duration: time.Since(start)}
	}
	var timedOut, stopped bool
	var mu sync.Mutex
	waited := make(chan struct{})
	go func() {
		var timer <-chan time.Time
		if c.Timeout > 0 {
			t := time.NewTimer(c.Timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-waited:
			return
		case <-timer:
			mu.Lock()
			timedOut = true
			mu.Unlock()
		case <-ctx.Done():
			mu.Lock()
			stopped = true
			mu.Unlock()
		}
		syscall.Kill(-proc.Pid, syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(c.KillGrace):
			syscall.Kill(-proc.Pid, syscall.SIGKILL)
		}
	}()
	state, werr := proc.Wait()
	close(waited)
	// What the script's leftovers still write is read for a moment, then
	// the pipe is let go so that they cannot hold the run open.
	r.SetReadDeadline(time.Now().Add(c.Drain))
	<-done
	r.Close()
	out := Outcome{Duration: time.Since(start), LastLines: lines.list()}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case werr != nil:
		out.ExitCode, out.Err = -1, werr
	case timedOut:
		name := c.TimeoutName
		if name == "" {
			name = "PROVISIONING_TIMEOUT"
		}
		out.ExitCode, out.Err = exitCode(state), fmt.Errorf("stopped after %s (%s)", name, c.Timeout)
	case stopped:
		out.ExitCode, out.Err = exitCode(state), errors.New("stopped: provisioner was told to stop")
	case !state.Success():
		out.ExitCode, out.Err = exitCode(state), fmt.Errorf("the script failed: %s", state)
	}
	return out
}

func exitCode(s *os.ProcessState) int {
	if ws, ok := s.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return s.ExitCode()
}

// copyLines writes each line of r to out with a timestamp. A carriage
// return starts the line again (progress bars), so only the last state
// of such a line is kept.
func copyLines(r io.Reader, out io.Writer, last *ring) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	emit := func() {
		s := string(line)
		if i := strings.LastIndexByte(strings.TrimRight(s, "\r"), '\r'); i >= 0 {
			s = s[i+1:]
		}
		s = strings.TrimRight(s, "\r")
		fmt.Fprintf(out, "%s %s\n", time.Now().Format("2006-01-02 15:04:05"), s)
		last.add(s)
		line = line[:0]
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			if len(line) > 0 {
				emit()
			}
			return
		}
		if b == '\n' {
			emit()
			continue
		}
		line = append(line, b)
		if len(line) >= maxLine {
			emit()
		}
	}
}

type ring struct {
	max   int
	lines []string
}

func (r *ring) add(s string) {
	r.lines = append(r.lines, s)
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
}

func (r *ring) list() []string { return append([]string(nil), r.lines...) }

// WriteLock writes the workspace's lock after a successful run, so that
// a restarted container does not provision again (ai-dock left this to
// each script).
func WriteLock(workspace string, uid, gid int) error {
	p := filepath.Join(workspace, LockFile)
	msg := "Written by provisioner run after the provisioning script succeeded on " + time.Now().UTC().Format(time.RFC3339) + ".\nRemove this file to provision again at the next start.\n"
	if err := os.WriteFile(p, []byte(msg), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	os.Chown(p, uid, gid)
	return nil
}

package ready

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Starter starts an exec check's process and returns its pid and a channel
// that receives its wait status once it has been reaped. supervisord,
// which reaps every child itself (it is PID 1), passes one that hands the
// status over from its reaper instead of calling wait4 on the pid.
type Starter func(path string, argv []string, attr *syscall.ProcAttr) (pid int, exited <-chan syscall.WaitStatus, err error)

// ForkExec is the Starter used when Options.Start is nil.
func ForkExec(path string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	go func() {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
		ch <- ws
	}()
	return pid, ch, nil
}

// afterKill is how long an exec check waits for its killed process to be
// reaped, and for its output pipe to close, before returning anyway (a
// grandchild that left the process group may hold the pipe).
const afterKill = time.Second

// exec runs the command in its own process group, with no stdin and its
// output kept for the message, and kills the whole group when ctx ends.
func (c Check) exec(ctx context.Context, o Options) error {
	path, err := lookPath(c.Argv[0], o.Env)
	if err != nil {
		return err
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("making the output pipe: %w", err)
	}
	defer r.Close()
	start := o.Start
	if start == nil {
		start = ForkExec
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	attr := &syscall.ProcAttr{
		Dir:   o.Dir,
		Env:   env,
		Files: []uintptr{devnull.Fd(), w.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	pid, exited, err := start(path, c.Argv, attr)
	w.Close()
	if err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	out := make(chan []byte, 1)
	go func() { out <- readSome(r, 4096) }()

	var ws syscall.WaitStatus
	select {
	case ws = <-exited:
	case <-ctx.Done():
		syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(afterKill):
		}
		r.SetReadDeadline(time.Now())
		<-out
		return fmt.Errorf("%s did not finish in time: %w", c.Argv[0], ctx.Err())
	}
	// Whatever the group left behind holds no claim on the answer.
	syscall.Kill(-pid, syscall.SIGKILL)
	r.SetReadDeadline(time.Now().Add(afterKill))
	text := lastLine(<-out)
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		err = fmt.Errorf("%s: exit status %d", c.Argv[0], ws.ExitStatus())
	case ws.Signaled():
		err = fmt.Errorf("%s: killed by signal %d", c.Argv[0], ws.Signal())
	default:
		err = fmt.Errorf("%s: wait status %#x", c.Argv[0], int(ws))
	}
	if text != "" {
		err = fmt.Errorf("%w: %s", err, text)
	}
	return err
}

// readSome reads r to its end (or its deadline) and keeps the last max
// bytes.
func readSome(r *os.File, max int) []byte {
	var kept []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		kept = append(kept, buf[:n]...)
		if len(kept) > max {
			kept = kept[len(kept)-max:]
		}
		if err != nil {
			return kept
		}
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, []byte("?")))), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// lookPath finds a command as execvp would, in the PATH of env.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	path := os.Getenv("PATH")
	if env != nil {
		path = ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				path = v
			}
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH %q", name, path)
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return errors.New(p + " is not an executable file")
	}
	return nil
}

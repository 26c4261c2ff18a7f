package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the command itself when the tests start this binary as a
// child (LOGTAIL_TEST_MAIN=1), as os/exec's tests do.
func TestMain(m *testing.M) {
	if os.Getenv("LOGTAIL_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

const waitTimeout = 60 * time.Second

// lockedBuffer collects a child's output; wait blocks until it holds a
// string.
type lockedBuffer struct {
	mu   sync.Mutex
	cond *sync.Cond
	b    bytes.Buffer
}

func newLockedBuffer() *lockedBuffer {
	l := &lockedBuffer{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cond.Broadcast()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) wait(t *testing.T, want string) {
	t.Helper()
	late := false
	timer := time.AfterFunc(waitTimeout, func() {
		l.mu.Lock()
		late = true
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for !strings.Contains(l.b.String(), want) {
		if late {
			t.Fatalf("timed out waiting for %q in:\n%s", want, l.b.String())
		}
		l.cond.Wait()
	}
}

func command(args []string, env ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append([]string{"LOGTAIL_TEST_MAIN=1"}, env...)...)
	stdout, stderr := newLockedBuffer(), newLockedBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd, stdout, stderr
}

// TestLogtail_SIGTERM runs the program as supervisord does and stops it
// with SIGTERM: it exits 0 after printing the unfinished line, and what
// it printed is in its out file too, without the secrets of its
// environment.
func TestLogtail_SIGTERM(t *testing.T) {
	dir := t.TempDir()
	x, out := filepath.Join(dir, "x.log"), filepath.Join(dir, "out.log")
	if err := os.WriteFile(x, []byte("pw hunter22\nkey key-123456 end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := command([]string{"--out", out, filepath.Join(dir, "*.log")},
		"WEB_PASSWORD=hunter22", "LOGTAIL_REDACT=MY_KEY", "MY_KEY=key-123456")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stdout.wait(t, "key *** end\n")

	f, err := os.OpenFile(x, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("unfinished")
	f.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("logtail exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(waitTimeout):
		cmd.Process.Kill()
		t.Fatal("logtail did not stop on SIGTERM")
	}

	want := "==> " + x + " <==\npw ***\nkey *** end\nunfinished\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", got, want)
	}
	if got, _ := os.ReadFile(out); string(got) != want {
		t.Errorf("%s:\n%q\nwant:\n%q", out, got, want)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr: %s", s)
	}
}

func TestLogtail_UsageError(t *testing.T) {
	cmd, _, stderr := command([]string{"--lines", "many"})
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	want := "logtail: usage: invalid value \"many\" for flag -lines: parse error\nTry 'logtail --help'.\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

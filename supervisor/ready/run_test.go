package ready

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) Check {
	t.Helper()
	c, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs a check bounded by timeout and reports how long it took.
func run(t *testing.T, s string, timeout time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := mustParse(t, s).Run(ctx, Options{})
	return err, time.Since(start)
}

// closedPort returns a TCP port that nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestCheck_Run_tcp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err, _ := run(t, "tcp:"+l.Addr().String(), 10*time.Second); err != nil {
		t.Errorf("listening port: %v", err)
	}
	addr := closedPort(t)
	err, _ = run(t, "tcp:"+addr, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("closed port: %v, want connection refused naming %s", err, addr)
	}
}

func TestCheck_Run_http(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/redirect":
			http.Redirect(w, r, "/elsewhere-that-fails", http.StatusFound)
		case "/elsewhere-that-fails", "/fail":
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tls.Close()
	for path, ok := range map[string]bool{"/ok": true, "/redirect": true, "/fail": false} {
		err, _ := run(t, "http://"+srv.Listener.Addr().String()+path, 10*time.Second)
		if (err == nil) != ok {
			t.Errorf("GET %s: %v, want ok=%v", path, err, ok)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "503")) {
			t.Errorf("GET %s: %v, want the status in the message", path, err)
		}
	}
	if err, _ := run(t, tls.URL+"/", 10*time.Second); err != nil {
		t.Errorf("https with a self-signed certificate: %v", err)
	}
}

// A peer that accepts and never answers holds an http check only until
// its timeout.
func TestCheck_Run_httpPeerThatNeverAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	err, _ = run(t, "http://"+l.Addr().String()+"/", 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline", err)
	}
	select {
	case c := <-accepted:
		c.Close()
	default:
		t.Error("the peer never saw the connection")
	}
}

func TestCheck_Run_paths(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "marker")
	os.WriteFile(marker, nil, 0o644)
	if err, _ := run(t, "unix:"+sock, 10*time.Second); err != nil {
		t.Errorf("unix socket: %v", err)
	}
	if err, _ := run(t, "file:"+marker, 10*time.Second); err != nil {
		t.Errorf("file exists: %v", err)
	}
	if err, _ := run(t, "absent:"+marker, 10*time.Second); err == nil || !strings.Contains(err.Error(), marker+" exists") {
		t.Errorf("absent while present: %v", err)
	}
	l.Close() // removes the socket file
	os.Remove(marker)
	if err, _ := run(t, "unix:"+sock, 10*time.Second); err == nil {
		t.Error("unix socket gone: passed")
	}
	if err, _ := run(t, "file:"+marker, 10*time.Second); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file gone: %v", err)
	}
	if err, _ := run(t, "absent:"+marker, 10*time.Second); err != nil {
		t.Errorf("absent once gone: %v", err)
	}
}

func TestCheck_Run_exec(t *testing.T) {
	if err, _ := run(t, "exec:true", 10*time.Second); err != nil {
		t.Errorf("true: %v", err)
	}
	err, _ := run(t, `exec:/bin/sh -c "echo first; echo not yet >&2; exit 3"`, 10*time.Second)
	if err == nil || err.Error() != "/bin/sh: exit status 3: not yet" {
		t.Errorf("failing command: %v", err)
	}
	// No shell: the argument is one word, not a command line.
	if err, _ := run(t, `exec:/bin/echo $(touch /nonexistent-dir/x)`, 10*time.Second); err != nil {
		t.Errorf("echo of a literal: %v", err)
	}
	if err, _ := run(t, "exec:no-such-command-here", 10*time.Second); err == nil || !strings.Contains(err.Error(), "not found in PATH") {
		t.Errorf("missing command: %v", err)
	}
}

// An exec check that never exits is killed, with its whole process group,
// at its timeout.
func TestCheck_Run_execThatNeverExits(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild")
	err, _ := run(t, `exec:/bin/sh -c "sleep 3600 & echo $! > `+pidfile+`; wait"`, 500*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("got %v, want the deadline", err)
	}
	data, rerr := os.ReadFile(pidfile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// The grandchild was killed with the group; it is our zombie or gone,
	// never a running sleep (its /proc state says which).
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d still runs after the check's timeout: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

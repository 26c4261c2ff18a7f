package rpc_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
)

// daemonOn starts our supervisord on a config (DIR replaced by its
// folder) through the shared harness and waits until waitFor holds.
func daemonOn(t *testing.T, text string, waitFor func() bool) (dir string, out *lockedBuffer, exited <-chan error) {
	t.Helper()
	dir = t.TempDir()
	os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(text, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	out = &lockedBuffer{}
	d := daemontest.Start(t, supervisord, conf, daemontest.Options{Output: out, StopTimeout: 10 * time.Second})
	ch := make(chan error, 1)
	go func() {
		<-d.Exited()
		ch <- d.Err()
	}()
	if waitFor != nil {
		deadline := time.Now().Add(30 * time.Second)
		for !waitFor() {
			if time.Now().After(deadline) {
				t.Fatalf("daemon not ready; output:\n%s", out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return dir, out, ch
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

const getState = `<?xml version="1.0"?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>`

func post(t *testing.T, c *http.Client, url, user, pass string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(getState))
	req.Header.Set("Content-Type", "text/xml")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestServers_authenticationAndSocketMode(t *testing.T) {
	port := freePort(t)
	sum := sha1.Sum([]byte("s3cret"))
	dir, out, _ := daemonOn(t, fmt.Sprintf(`
[unix_http_server]
file=DIR/sock
chmod=0760
chown=nobody:nogroup
username=admin
password=plain-pass

[inet_http_server]
port=127.0.0.1:%d
username=web
password={SHA}%s

[supervisord]
nodaemon=true
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
user=root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`, port, hex.EncodeToString(sum[:])), nil)
	sock := filepath.Join(dir, "sock")
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatalf("no socket; output:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o760 {
		t.Errorf("socket mode %o, want 760", st.Mode().Perm())
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 || sys.Gid != 65534 {
		t.Errorf("socket owner %d:%d, want nobody:nogroup", sys.Uid, sys.Gid)
	}
	uc := unixClient(sock)
	tcp := &http.Client{}
	inet := fmt.Sprintf("http://127.0.0.1:%d/RPC2", port)
	cases := []struct {
		name       string
		c          *http.Client
		url        string
		user, pass string
		want       int
	}{
		{"unix no credentials", uc, "http://x/RPC2", "", "", 401},
		{"unix wrong password", uc, "http://x/RPC2", "admin", "nope", 401},
		{"unix wrong user", uc, "http://x/RPC2", "root", "plain-pass", 401},
		{"unix right", uc, "http://x/RPC2", "admin", "plain-pass", 200},
		{"inet no credentials", tcp, inet, "", "", 401},
		{"inet the hash itself", tcp, inet, "web", "{SHA}" + hex.EncodeToString(sum[:]), 401},
		{"inet right", tcp, inet, "web", "s3cret", 200},
	}
	for _, c := range cases {
		if got := post(t, c.c, c.url, c.user, c.pass); got != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, got, c.want)
		}
	}
	// Streaming log endpoints are behind the same login.
	resp, err := uc.Get("http://x/mainlogtail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("mainlogtail without login: %d", resp.StatusCode)
	}
}

func TestServers_refuseOpenNetworkWithoutLogin(t *testing.T) {
	port := freePort(t)
	_, out, exited := daemonOn(t, fmt.Sprintf(`
[inet_http_server]
port=0.0.0.0:%d

[supervisord]
nodaemon=true
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`, port), nil)
	select {
	case err := <-exited:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("exit %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon kept running with an open, unauthenticated control port")
	}
	if !strings.Contains(out.String(), "would let anyone who can reach every interface control every process") {
		t.Errorf("output:\n%s", out)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Error("port is open")
	}
}

func TestServers_logtailFollowsAppends(t *testing.T) {
	dir, _, _ := daemonOn(t, `
[unix_http_server]
file=DIR/sock

[supervisord]
nodaemon=true
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:talker]
command=/bin/sh -c "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
startsecs=0
stdout_logfile=DIR/talker.log
`, nil)
	sock := filepath.Join(dir, "sock")
	var resp *http.Response
	for i := 0; i < 300; i++ {
		r, err := unixClient(sock).Get("http://x/logtail/talker")
		if err == nil && r.StatusCode == 200 {
			resp = r
			break
		}
		if err == nil {
			r.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp == nil {
		t.Fatal("no logtail")
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	seen := 0
	deadline := time.Now().Add(10 * time.Second)
	for sc.Scan() && seen < 15 && time.Now().Before(deadline) {
		if strings.HasPrefix(sc.Text(), "tick ") {
			seen++
		}
	}
	if seen < 15 {
		t.Errorf("followed %d lines", seen)
	}
	r, err := unixClient(sock).Get("http://x/logtail/nope")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Errorf("unknown process: %d", r.StatusCode)
	}
}

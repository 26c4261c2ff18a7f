package sshd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/sshkeys"
)

const deadline = 60 * time.Second

func needTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("sshd runs as root in these tests (scripts/test runs them as root)")
	}
	for _, tool := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian packages openssh-server and openssh-client; scripts/test installs them): %v", tool, err)
		}
	}
}

// config is the shipped sshd_config.
func config(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "../../images/base/etc/ssh/sshd_config")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// secureDir makes a folder whose every parent is root's and not writable
// by others, as sshd's StrictModes requires of an authorized_keys path
// (t.TempDir lies under /tmp, which is world-writable).
func secureDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/run", "gpudesk-sshd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clientKey makes an ed25519 key pair and returns the private key's path
// and the public key's line.
func clientKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return p, strings.TrimSpace(string(pub))
}

// server is a running sshd and what it printed.
type server struct {
	port int
	mu   sync.Mutex
	log  strings.Builder
	cond *sync.Cond
}

func (s *server) waitFor(t *testing.T, text string) {
	t.Helper()
	timer := time.AfterFunc(deadline, func() { s.cond.Broadcast() })
	defer timer.Stop()
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !strings.Contains(s.log.String(), text) {
		if time.Since(start) > deadline {
			t.Fatalf("sshd did not log %q within %v; its log:\n%s", text, deadline, s.log.String())
		}
		s.cond.Wait()
	}
}

func (s *server) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startSSHD runs the shipped config on a loopback port with the host keys
// of etcSSH and root's authorized_keys at keys, as conf.d/sshd.conf runs
// it (-D -e -p).
func startSSHD(t *testing.T, etcSSH, keys string) *server {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	s := &server{port: freePort(t)}
	s.cond = sync.NewCond(&s.mu)
	hostKeys, _ := filepath.Glob(filepath.Join(etcSSH, "ssh_host_*_key"))
	if len(hostKeys) == 0 {
		t.Fatalf("no host key in %s", etcSSH)
	}
	args := []string{"-D", "-e", "-f", config(t), "-p", strconv.Itoa(s.port),
		"-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none", "-o", "AuthorizedKeysFile=" + keys}
	for _, k := range hostKeys {
		args = append(args, "-h", k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "/usr/sbin/sshd", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			s.cond.Broadcast()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.String())
		}
	})
	s.waitFor(t, fmt.Sprintf("Server listening on 127.0.0.1 port %d", s.port))
	return s
}

// sshArgs are the client's options: this key only, no agent, no config
// of the machine, and the host key checked against knownHosts.
func sshArgs(port int, knownHosts string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-p", strconv.Itoa(port), "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "ConnectTimeout=30"}
	return append(args, extra...)
}

func runSSH(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput()
	return string(out), err
}

// knownHosts writes the host keys of etcSSH as the client must see them.
func knownHosts(t *testing.T, dir string, port int, etcSSH string) string {
	t.Helper()
	pubs, _ := filepath.Glob(filepath.Join(etcSSH, "ssh_host_*_key.pub"))
	var b strings.Builder
	for _, p := range pubs {
		line, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(line))
		fmt.Fprintf(&b, "[127.0.0.1]:%d %s %s\n", port, f[0], f[1])
	}
	path := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSSHD_keysFromTwoSources: the boot's key merge (a mounted file and
// SSH_PUBKEY, with a malformed line) lets both keys in, passwords are
// not offered, a key appended while sshd runs works, and ssh -L reaches
// a loopback web server.
func TestSSHD_keysFromTwoSources(t *testing.T) {
	needTools(t)
	dir := secureDir(t)
	keyA, pubA := clientKey(t, dir, "mounted")
	keyB, pubB := clientKey(t, dir, "env")
	keyC, pubC := clientKey(t, dir, "later")
	auth := filepath.Join(dir, "root/.ssh/authorized_keys")
	n, warn, err := sshkeys.Install(auth, 0, 0, []sshkeys.Source{
		{Name: "/root/.ssh/authorized_keys_mount", Text: pubA + "\n"},
		{Name: "SSH_PUBKEY", Text: "not a key at all\n" + pubB},
	})
	if err != nil || n != 2 || len(warn) != 1 {
		t.Fatalf("Install: %d keys, warnings %q, %v; want 2 keys and one warning", n, warn, err)
	}
	etcSSH := filepath.Join(dir, "etc/ssh")
	if _, err := sshkeys.HostKeys(etcSSH, ""); err != nil {
		t.Fatal(err)
	}
	s := startSSHD(t, etcSSH, auth)
	kh := knownHosts(t, dir, s.port, etcSSH)

	for _, key := range []string{keyA, keyB} {
		out, err := runSSH(t, sshArgs(s.port, kh, "-i", key, "root@127.0.0.1", "echo logged-in-as-$(id -un)")...)
		if err != nil || !strings.Contains(out, "logged-in-as-root") {
			t.Fatalf("login with %s: %v\n%s", filepath.Base(key), err, out)
		}
	}

	t.Run("password refused", func(t *testing.T) {
		out, err := runSSH(t, sshArgs(s.port, kh, "-o", "PubkeyAuthentication=no",
			"-o", "PreferredAuthentications=password,keyboard-interactive", "root@127.0.0.1", "true")...)
		if err == nil {
			t.Fatalf("a login without a key succeeded:\n%s", out)
		}
		// The server offers publickey and nothing else.
		if !strings.Contains(out, "Permission denied (publickey).") {
			t.Fatalf("want sshd to offer only publickey, got:\n%s", out)
		}
	})

	t.Run("key added later", func(t *testing.T) {
		if out, err := runSSH(t, sshArgs(s.port, kh, "-i", keyC, "root@127.0.0.1", "true")...); err == nil {
			t.Fatalf("a key not installed yet logged in:\n%s", out)
		}
		f, err := os.OpenFile(auth, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, pubC)
		f.Close()
		out, err := runSSH(t, sshArgs(s.port, kh, "-i", keyC, "root@127.0.0.1", "echo ok-later")...)
		if err != nil || !strings.Contains(out, "ok-later") {
			t.Fatalf("login with the key added while sshd runs: %v\n%s", err, out)
		}
	})

	t.Run("ssh -L", func(t *testing.T) {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "portal behind the tunnel")
		}))
		defer web.Close()
		webPort := web.Listener.Addr().(*net.TCPAddr).Port
		local := freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fwd := exec.CommandContext(ctx, "ssh", sshArgs(s.port, kh, "-i", keyA, "-N",
			"-o", "ExitOnForwardFailure=yes",
			"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", local, webPort), "root@127.0.0.1")...)
		var fwdOut strings.Builder
		fwd.Stdout, fwd.Stderr = &fwdOut, &fwdOut
		if err := fwd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- fwd.Wait() }()
		defer func() { cancel(); <-exited }()
		// The forward exists once ssh has logged in; retry until then.
		url := fmt.Sprintf("http://127.0.0.1:%d/", local)
		start := time.Now()
		for {
			resp, err := http.Get(url)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "portal behind the tunnel" {
					t.Fatalf("through the forward: %q", body)
				}
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("ssh -L exited: %v\n%s", err, fwdOut.String())
			case <-time.After(100 * time.Millisecond):
			}
			if time.Since(start) > deadline {
				t.Fatalf("no answer through ssh -L within %v: %v", deadline, err)
			}
		}
	})
	s.waitFor(t, "Accepted publickey for root")
}

// TestSSHD_hostKeyKeptAcrossContainers: a second container on the same
// workspace volume (the boot's host-key step run again on a fresh /etc/ssh)
// presents the same host key, so clients with strict host key checking
// still connect.
func TestSSHD_hostKeyKeptAcrossContainers(t *testing.T) {
	needTools(t)
	dir := secureDir(t)
	key, pub := clientKey(t, dir, "user")
	auth := filepath.Join(dir, "root/.ssh/authorized_keys")
	if _, _, err := sshkeys.Install(auth, 0, 0, []sshkeys.Source{{Name: "SSH_PUBKEY", Text: pub}}); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "workspace/.gpudesk/ssh-host-keys")
	first := filepath.Join(dir, "container1/etc/ssh")
	if _, err := sshkeys.HostKeys(first, keep); err != nil {
		t.Fatal(err)
	}
	s1 := startSSHD(t, first, auth)
	kh := knownHosts(t, dir, s1.port, first)
	if out, err := runSSH(t, sshArgs(s1.port, kh, "-i", key, "root@127.0.0.1", "true")...); err != nil {
		t.Fatalf("first container: %v\n%s", err, out)
	}

	second := filepath.Join(dir, "container2/etc/ssh")
	if _, err := sshkeys.HostKeys(second, keep); err != nil {
		t.Fatal(err)
	}
	s2 := startSSHD(t, second, auth)
	// The known_hosts entry recorded against the first container, moved
	// to the second one's port.
	b, _ := os.ReadFile(kh)
	moved := strings.ReplaceAll(string(b), fmt.Sprintf("[127.0.0.1]:%d", s1.port), fmt.Sprintf("[127.0.0.1]:%d", s2.port))
	if err := os.WriteFile(kh, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runSSH(t, sshArgs(s2.port, kh, "-i", key, "root@127.0.0.1", "true")...); err != nil {
		t.Fatalf("second container on the same workspace: %v\n%s", err, out)
	}

	// Control: a container without the kept keys gets a new host key,
	// which strict checking refuses, so the check above can fail.
	other := filepath.Join(dir, "container3/etc/ssh")
	if _, err := sshkeys.HostKeys(other, ""); err != nil {
		t.Fatal(err)
	}
	s3 := startSSHD(t, other, auth)
	moved = strings.ReplaceAll(moved, fmt.Sprintf("[127.0.0.1]:%d", s2.port), fmt.Sprintf("[127.0.0.1]:%d", s3.port))
	os.WriteFile(kh, []byte(moved), 0o600)
	if out, err := runSSH(t, sshArgs(s3.port, kh, "-i", key, "root@127.0.0.1", "true")...); err == nil ||
		!strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("a new host key was accepted: %v\n%s", err, out)
	}
}

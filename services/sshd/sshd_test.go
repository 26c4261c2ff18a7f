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

	"github.com/gpudesk/runtime/services/provisioner/boottest"
)

const deadline = 60 * time.Second

func needTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("sshd runs as root in these tests (scripts/test runs them as root)")
	}
	for _, tool := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "sftp", "useradd", "chpasswd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian packages openssh-server, openssh-client and passwd; scripts/test installs them): %v", tool, err)
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

var (
	provOnce sync.Once
	provBin  string
	provErr  error
)

// provisioner builds provisioner once per test binary.
func provisioner(t *testing.T) string {
	t.Helper()
	provOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gpudesk-sshd-prov")
		if err != nil {
			provErr = err
			return
		}
		provBin = filepath.Join(dir, "provisioner")
		if out, err := exec.Command("go", "build", "-o", provBin, "../provisioner/cmd/provisioner").CombinedOutput(); err != nil {
			provErr = fmt.Errorf("building provisioner: %v\n%s", err, out)
		}
	})
	if provErr != nil {
		t.Fatal(provErr)
	}
	return provBin
}

// boot runs the real `provisioner boot --root root` with environ, as a
// container's entrypoint; it ends by exec'ing a stand-in supervisord
// that exits 0. It returns what the boot printed.
func boot(t *testing.T, root string, environ ...string) string {
	t.Helper()
	fake := filepath.Join(root, "fake-supervisord")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, provisioner(t), "boot", "--root", root, "--supervisord", fake)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}, environ...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("provisioner boot: %v\n%s", err, out)
	}
	return string(out)
}

// TestSSHD_keysFromTwoSources: a real provisioner boot merges a mounted
// authorized_keys file and SSH_PUBKEY (with a malformed line, reported
// by its source only); both keys log in, passwords are not offered, a key
// appended while sshd runs works, ssh -L reaches a loopback web server
// and sftp works through the shipped config's internal-sftp.
func TestSSHD_keysFromTwoSources(t *testing.T) {
	needTools(t)
	dir := secureDir(t)
	keyA, pubA := clientKey(t, dir, "mounted")
	keyB, pubB := clientKey(t, dir, "env")
	keyC, pubC := clientKey(t, dir, "later")
	root := boottest.NewRoot(t, dir)
	if err := os.MkdirAll(filepath.Join(root, "root/.ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "root/.ssh/authorized_keys_mount"), []byte(pubA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := boot(t, root, "SSH_PUBKEY=not a key at all\n"+pubB)
	if !strings.Contains(out, "SSH_PUBKEY line 1 is not an SSH public key") || strings.Contains(out, "not a key at all") || strings.Contains(out, "sshd does not start") {
		t.Fatalf("the boot should report the bad line by its source, not its content, and install keys:\n%s", out)
	}
	auth := filepath.Join(root, "root/.ssh/authorized_keys")
	etcSSH := filepath.Join(root, "etc/ssh")
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

	t.Run("sftp", func(t *testing.T) {
		local := filepath.Join(dir, "upload.bin")
		content := strings.Repeat("gpudesk sftp\n", 1000)
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		remote := filepath.Join(root, "workspace/uploaded.bin")
		back := filepath.Join(dir, "downloaded.bin")
		batch := filepath.Join(dir, "batch")
		if err := os.WriteFile(batch, []byte(fmt.Sprintf("put %s %s\nget %s %s\nls -l %s\n", local, remote, remote, back, remote)), 0o600); err != nil {
			t.Fatal(err)
		}
		args := sshArgs(s.port, kh, "-i", keyB)
		// sftp spells the port -P; the rest are ssh -o options it passes on.
		for i, a := range args {
			if a == "-p" {
				args[i] = "-P"
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		out, err := exec.CommandContext(ctx, "sftp", append(append(args, "-b", batch), "root@127.0.0.1")...).CombinedOutput()
		if err != nil {
			t.Fatalf("sftp -b: %v\n%s", err, out)
		}
		for _, p := range []string{remote, back} {
			if b, err := os.ReadFile(p); err != nil || string(b) != content {
				t.Errorf("%s after sftp put/get: %v (%d bytes)", p, err, len(b))
			}
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

// TestSSHD_hostKeyKeptAcrossContainers: the boot of a new container on
// the same workspace volume (a fresh /etc/ssh, WORKSPACE_MOUNTED=force)
// restores the host key, so clients with strict host key checking still
// connect; a container without that volume gets a new key, refused.
func TestSSHD_hostKeyKeptAcrossContainers(t *testing.T) {
	needTools(t)
	dir := secureDir(t)
	key, pub := clientKey(t, dir, "user")
	root := boottest.NewRoot(t, dir)
	environ := []string{"SSH_PUBKEY=" + pub, "WORKSPACE_MOUNTED=force"}
	boot(t, root, environ...)
	auth := filepath.Join(root, "root/.ssh/authorized_keys")
	etcSSH := filepath.Join(root, "etc/ssh")
	s1 := startSSHD(t, etcSSH, auth)
	kh := knownHosts(t, dir, s1.port, etcSSH)
	if out, err := runSSH(t, sshArgs(s1.port, kh, "-i", key, "root@127.0.0.1", "true")...); err != nil {
		t.Fatalf("first container: %v\n%s", err, out)
	}

	// The next container: the image's /etc/ssh has no host key.
	old, _ := filepath.Glob(filepath.Join(etcSSH, "ssh_host_*"))
	for _, p := range old {
		os.Remove(p)
	}
	boot(t, root, environ...)
	s2 := startSSHD(t, etcSSH, auth)
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

	// Control: a container on another volume gets a new host key, which
	// strict checking refuses, so the check above can fail.
	other := boottest.NewRoot(t, dir)
	boot(t, other, environ...)
	s3 := startSSHD(t, filepath.Join(other, "etc/ssh"), filepath.Join(other, "root/.ssh/authorized_keys"))
	moved = strings.ReplaceAll(moved, fmt.Sprintf("[127.0.0.1]:%d", s2.port), fmt.Sprintf("[127.0.0.1]:%d", s3.port))
	os.WriteFile(kh, []byte(moved), 0o600)
	if out, err := runSSH(t, sshArgs(s3.port, kh, "-i", key, "root@127.0.0.1", "true")...); err == nil ||
		!strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("a new host key was accepted: %v\n%s", err, out)
	}
}

package provisioner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpudesk/runtime/services/provisioner/boottest"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests make users, chown files and mount file systems: run them as root (scripts/test does)")
	}
	for _, tool := range []string{"useradd", "groupadd", "usermod", "chpasswd", "setfacl", "getfacl", "visudo", "bash", "dash", "mkfs.ext4", "mount", "rclone", "fusermount3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian packages passwd, acl, sudo, bash, dash, e2fsprogs, mount, rclone, fuse3; scripts/test installs them): %v", tool, err)
		}
	}
}

// newRoot makes a throw-away root (boottest.NewRoot) under t.TempDir.
func newRoot(t *testing.T) string {
	t.Helper()
	return boottest.NewRoot(t, "")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

// pubKey makes a fresh ed25519 public key in authorized_keys form.
func pubKey(t testing.TB, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	sp, err := ssh.NewPublicKey(pub)
	must(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

// fakeSupervisord is an executable boot can plan to exec in-process tests.
func fakeSupervisord(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "supervisord")
	must(t, os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	return p
}

type bootRun struct {
	plan            *Plan
	err             error
	console, logged string
}

// runBoot runs Boot in-process on root.
func runBoot(t *testing.T, root string, environ, args []string, mountinfo string) bootRun {
	t.Helper()
	var console, logged bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan, err := Boot(ctx, BootOptions{
		Root: root, Args: args, Environ: environ, Supervisord: fakeSupervisord(t),
		Console: &console, Log: &logged, MountInfo: mountinfo,
	})
	return bootRun{plan, err, console.String(), logged.String()}
}

// baseEnv is a container's environment without any setting.
func baseEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
}

func envOf(p *Plan) map[string]string {
	m := map[string]string{}
	for _, kv := range p.Environ {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// snapshot describes every entry under root (type, mode, owner, content
// hash or link target), leaving out the paths in skip.
func snapshot(t *testing.T, root string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		for _, s := range skip {
			if rel == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		st, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		s := st.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", st.Mode(), s.Uid, s.Gid)
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:8])
		}
		out[rel] = desc
		return nil
	})
	return out
}

func diffSnapshots(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new %q", k, v))
		}
	}
	return d
}

// mountFS mounts a fresh file system on dir: "ext4" (a loop image, ACLs
// supported), "noowners" (a FUSE mount that keeps no owners) or "ramfs"
// (no ACLs); unmounted at cleanup.
func mountFS(t *testing.T, kind, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	switch kind {
	case "ext4":
		img := filepath.Join(t.TempDir(), "ws.img")
		must(t, os.WriteFile(img, nil, 0o600))
		must(t, os.Truncate(img, 32<<20))
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ext4: %v %s", err, out)
		}
		if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
			t.Fatalf("mount -o loop: %v %s", err, out)
		}
		// lost+found is mkfs's; the workspace test wants an empty volume.
		os.RemoveAll(filepath.Join(dir, "lost+found"))
	case "noowners":
		// rclone's FUSE mount of a local folder: chown succeeds and changes
		// nothing, as on vfat and many network file systems (this kernel
		// has no vfat).
		src := t.TempDir()
		if out, err := exec.Command("rclone", "mount", "--config", "/dev/null", ":local:"+src, dir,
			"--allow-other", "--daemon").CombinedOutput(); err != nil {
			t.Fatalf("rclone mount: %v %s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("fusermount3", "-u", dir).CombinedOutput(); err != nil {
				t.Errorf("fusermount3 -u %s: %v %s", dir, err, out)
			}
		})
		return
	case "ramfs":
		if out, err := exec.Command("mount", "-t", "ramfs", "none", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount -t ramfs: %v %s", err, out)
		}
	}
	t.Cleanup(func() {
		// mount -o loop sets autoclear: the loop device goes with the mount.
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds provisioner and supervisord once per test binary.
func binaries(t *testing.T) (provisioner, supervisord string) {
	t.Helper()
	binOnce.Do(func() {
		var dir string
		dir, binErr = os.MkdirTemp("", "gpudesk-prov-bin")
		if binErr != nil {
			return
		}
		os.Chmod(dir, 0o755)
		binDir = dir
		for name, pkg := range map[string]string{"provisioner": "./cmd/provisioner", "supervisord": "../../supervisor/cmd/supervisord", "logtail": "../logtail/cmd/logtail"} {
			// supervisor/internal/testbin is internal to supervisor/: built here the same way.
			if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
				binErr = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "provisioner"), filepath.Join(binDir, "supervisord")
}

// waitFor polls cond (a file, a state) with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

// waitLimit is how long waitFor waits: generous, for a loaded CI machine.
var waitLimit = 60 * time.Second

// Package boottest makes throw-away roots in which tests run provisioner
// boot (--root) with the distribution's real passwd tools: the
// provisioner's own tests and those of the programs it prepares (sshd).
package boottest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// NewRoot makes a throw-away root for provisioner boot --root: the host's
// system accounts (uid and gid below 1000), a skeleton, bash.bashrc, and
// a supervisord.conf whose paths all lie inside the root. It is made in
// a new folder under base, or under t.TempDir when base is "" (sshd's
// tests pass a folder under /run: StrictModes refuses keys below the
// world-writable /tmp).
func NewRoot(t testing.TB, base string) string {
	t.Helper()
	var root string
	if base == "" {
		root = t.TempDir()
		os.Chmod(filepath.Dir(root), 0o755) // t.TempDir's parent is 0700: the user must get through it
	} else {
		var err error
		root, err = os.MkdirTemp(base, "root-")
		must(t, err)
		t.Cleanup(func() { os.RemoveAll(root) })
	}
	os.Chmod(root, 0o755)
	for _, d := range []string{"etc/skel", "etc/ssh", "etc/supervisor/supervisord/conf.d", "root", "home", "var/log", "run", "usr/share/zoneinfo/Europe"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	os.Chmod(filepath.Join(root, "root"), 0o700)
	copySystem(t, "/etc/passwd", filepath.Join(root, "etc/passwd"), 2, 0o644)
	copySystem(t, "/etc/group", filepath.Join(root, "etc/group"), 2, 0o644)
	copyNames(t, "/etc/shadow", filepath.Join(root, "etc/shadow"), filepath.Join(root, "etc/passwd"), 0o640)
	copyNames(t, "/etc/gshadow", filepath.Join(root, "etc/gshadow"), filepath.Join(root, "etc/group"), 0o640)
	write(t, filepath.Join(root, "etc/skel/.bashrc"), "# skel\n")
	write(t, filepath.Join(root, "etc/bash.bashrc"), "# system bashrc\n")
	write(t, filepath.Join(root, "usr/share/zoneinfo/Europe/Paris"), "TZif fake\n")
	write(t, filepath.Join(root, "usr/share/zoneinfo/UTC"), "TZif fake\n")
	write(t, filepath.Join(root, "etc/supervisor/supervisord.conf"), fmt.Sprintf(`[unix_http_server]
file=%[1]s/run/supervisor.sock
chmod=0700

[supervisord]
logfile=%[1]s/var/log/supervisor/supervisor.log
pidfile=%[1]s/run/supervisord.pid
childlogdir=%[1]s/var/log/supervisor
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files = supervisord/conf.d/*.conf
`, root))
	return root
}

// copySystem copies the lines of src whose field idx is below 1000 (or
// nobody's 65534).
func copySystem(t testing.TB, src, dst string, idx int, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	must(t, err)
	var out bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) <= idx {
			continue
		}
		var n int
		fmt.Sscan(f[idx], &n)
		if n < 1000 || n == 65534 {
			out.WriteString(line + "\n")
		}
	}
	must(t, os.WriteFile(dst, out.Bytes(), mode))
	os.Chmod(dst, mode)
}

// copyNames copies the lines of src whose first field names an entry of ref.
func copyNames(t testing.TB, src, dst, ref string, mode os.FileMode) {
	t.Helper()
	names := map[string]bool{}
	rb, err := os.ReadFile(ref)
	must(t, err)
	for _, line := range strings.Split(string(rb), "\n") {
		names[strings.Split(line, ":")[0]] = true
	}
	b, _ := os.ReadFile(src)
	var out bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && names[strings.Split(line, ":")[0]] {
			out.WriteString(line + "\n")
		}
	}
	must(t, os.WriteFile(dst, out.Bytes(), mode))
	os.Chmod(dst, mode)
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

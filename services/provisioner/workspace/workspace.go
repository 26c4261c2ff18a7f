// Package workspace prepares $WORKSPACE: whether a volume is mounted
// there, whose it is, the storage folder, the warning file when nothing
// is mounted, and the default ACL that keeps new files usable by the
// workspace's owner.
package workspace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// WarningFile is written into a workspace that is not a mount.
const WarningFile = "WARNING-NO-MOUNT.txt"

const warningText = `This folder is not a mounted volume: what you keep here is lost when the
container is removed. Mount a volume at this path (or set WORKSPACE to the
path of one) to keep your work. Set WORKSPACE_MOUNTED=force if it is one.
`

// Info is what Prepare found and made.
type Info struct {
	Path    string // WORKSPACE, inside the container
	Mounted bool
	// UID and GID own the workspace: its owner, or 1000 when root owns it
	// (ai-dock's rule: the user is never root).
	UID, GID int
	// Permissions says a chown works on the mount (false on file systems
	// that ignore owners, such as some network volumes).
	Permissions bool
}

// Options say where and how.
type Options struct {
	Root      string // "/" in a container
	Path      string // WORKSPACE, absolute
	Mounted   string // WORKSPACE_MOUNTED: "force", "false" or "" (detect)
	MountInfo string // path of mountinfo (default /proc/self/mountinfo)
}

// Prepare makes the workspace folder and its storage folder. An error
// means the workspace cannot be used (the boot stops).
func Prepare(o Options) (Info, error) {
	info := Info{Path: o.Path}
	if !filepath.IsAbs(o.Path) || filepath.Clean(o.Path) == "/" {
		return info, fmt.Errorf("WORKSPACE %q: must be an absolute path other than /", o.Path)
	}
	dir := filepath.Join(o.Root, o.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return info, fmt.Errorf("WORKSPACE %s: %w", o.Path, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return info, fmt.Errorf("WORKSPACE %s: %w", o.Path, err)
	}
	if !st.IsDir() {
		return info, fmt.Errorf("WORKSPACE %s: not a folder", o.Path)
	}
	switch o.Mounted {
	case "force", "true":
		info.Mounted = true
	case "false":
	default:
		mi := o.MountInfo
		if mi == "" {
			mi = "/proc/self/mountinfo"
		}
		info.Mounted, err = isMountPoint(mi, dir)
		if err != nil {
			return info, fmt.Errorf("WORKSPACE %s: finding whether it is mounted: %w", o.Path, err)
		}
	}
	s := st.Sys().(*syscall.Stat_t)
	info.UID, info.GID = int(s.Uid), int(s.Gid)
	if info.UID == 0 {
		info.UID = 1000
	}
	if info.GID == 0 {
		info.GID = 1000
	}
	if int(s.Uid) != info.UID || int(s.Gid) != info.GID {
		if err := os.Chown(dir, info.UID, info.GID); err != nil {
			return info, fmt.Errorf("WORKSPACE %s: chown %d:%d: %w", o.Path, info.UID, info.GID, err)
		}
	}
	if st.Mode()&os.ModeSetgid == 0 {
		os.Chmod(dir, st.Mode().Perm()|os.ModeSetgid)
	}
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o775); err != nil {
		return info, fmt.Errorf("WORKSPACE %s: making storage: %w", o.Path, err)
	}
	os.Lchown(storage, info.UID, info.GID)
	warning := filepath.Join(dir, WarningFile)
	if info.Mounted {
		os.Remove(warning)
		info.Permissions = probeChown(dir, info.UID, info.GID)
	} else {
		info.Permissions = true
		if b, err := os.ReadFile(warning); err != nil || string(b) != warningText {
			if err := os.WriteFile(warning, []byte(warningText), 0o644); err != nil {
				return info, fmt.Errorf("WORKSPACE %s: writing %s: %w", o.Path, WarningFile, err)
			}
		}
	}
	return info, nil
}

// probeChown reports whether the file system keeps owners.
func probeChown(dir string, uid, gid int) bool {
	p := filepath.Join(dir, ".gpudesk-permissions-test")
	defer os.Remove(p)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return false
	}
	if err := os.Chown(p, uid, gid); err != nil {
		return false
	}
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid) == uid && int(s.Gid) == gid
}

// isMountPoint reads mountinfo for dir (symlinks resolved).
func isMountPoint(mountinfo, dir string) (bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 && unescapeMount(f[4]) == real {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ErrNoACL is returned (wrapped) when the file system or the machine
// cannot hold ACLs: a warning, not a failure.
var ErrNoACL = errors.New("ACLs not supported")

// DefaultACL gives uid a default ACL entry rwx (and the mask rwx) on each
// folder, so files anyone makes there later stay usable by the workspace's
// owner. It uses Debian's setfacl.
func DefaultACL(ctx context.Context, uid int, dirs ...string) error {
	path, err := exec.LookPath("setfacl")
	if err != nil {
		return fmt.Errorf("setfacl not found (Debian package acl): %w", ErrNoACL)
	}
	for _, d := range dirs {
		out, err := exec.CommandContext(ctx, path, "-d", "-m", fmt.Sprintf("u:%d:rwx,m::rwx", uid), d).CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if strings.Contains(msg, "Operation not supported") {
				return fmt.Errorf("default ACL on %s: %s: %w", d, msg, ErrNoACL)
			}
			return fmt.Errorf("default ACL on %s: %w: %s", d, err, msg)
		}
	}
	return nil
}

package optsync

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// copyTree copies src to dst (which must not exist): folders, regular
// files (hard links kept), symlinks, with their modes, times and, when
// the volume keeps them, owners. Devices, fifos and sockets are skipped
// with one line each: an application folder has none that matter.
func (o Options) copyTree(ctx context.Context, name, src, dst string) error {
	type dirMeta struct {
		path string
		st   os.FileInfo
	}
	var dirs []dirMeta
	links := map[[2]uint64]string{} // (dev, inode) of files with several links → first copy
	var copied int64
	lastReport := time.Now()
	err := filepath.Walk(src, func(p string, st os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		sys, _ := st.Sys().(*syscall.Stat_t)
		switch m := st.Mode(); {
		case m.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMeta{to, st})
			return nil
		case m&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case m.IsRegular():
			if sys != nil && sys.Nlink > 1 {
				key := [2]uint64{uint64(sys.Dev), sys.Ino}
				if first, ok := links[key]; ok {
					return os.Link(first, to)
				}
				links[key] = to
			}
			n, err := copyFile(p, to, st)
			copied += n
			if err != nil {
				return err
			}
			if time.Since(lastReport) >= o.Progress {
				o.Log(fmt.Sprintf("/opt/%s: %d MiB copied so far", name, copied>>20))
				lastReport = time.Now()
			}
		default:
			o.Log(fmt.Sprintf("/opt/%s: %s is not a file, folder or link; not copied", name, rel))
			return nil
		}
		o.owner(to, sys)
		return nil
	})
	if err != nil {
		return fmt.Errorf("copying to the workspace: %w; nothing moved", err)
	}
	// Folders last, deepest first: their modes may forbid writing in
	// them, and adding their entries changed their times.
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := os.Chmod(d.path, d.st.Mode()&(os.ModePerm|os.ModeSetgid|os.ModeSetuid|os.ModeSticky)); err != nil {
			return fmt.Errorf("copying to the workspace: %w; nothing moved", err)
		}
		o.owner(d.path, d.st.Sys().(*syscall.Stat_t))
		os.Chtimes(d.path, d.st.ModTime(), d.st.ModTime())
	}
	return nil
}

func (o Options) owner(p string, sys *syscall.Stat_t) {
	if sys != nil {
		// A volume that ignores owners refuses: expected (Chown false).
		os.Lchown(p, int(sys.Uid), int(sys.Gid))
	}
}

func copyFile(from, to string, st os.FileInfo) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Close()
	} else {
		out.Close()
	}
	if err != nil {
		return n, err
	}
	// Explicitly: the umask must not change the copy's mode.
	if err := os.Chmod(to, st.Mode()&(os.ModePerm|os.ModeSetgid|os.ModeSetuid|os.ModeSticky)); err != nil {
		return n, err
	}
	return n, os.Chtimes(to, st.ModTime(), st.ModTime())
}

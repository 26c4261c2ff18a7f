// Package optsync moves application folders of /opt onto the workspace
// volume so that they persist (OPT_SYNC, ai-dock's init_sync_opt): each
// /opt/NAME is copied to $WORKSPACE/NAME and replaced by a symlink to it;
// a later container on the same volume keeps the workspace's copy.
//
// Unlike ai-dock's (tar, move, extract, then delete, unchecked), nothing
// is deleted before the copy is complete and marked: the copy is made
// under a temporary name, checked against changes made to /opt/NAME while
// it ran, marked with .move_complete, renamed into place, and only then
// does /opt/NAME become the symlink. A failure at any point leaves
// /opt/NAME as it was and removes the partial copy; an interrupted run
// (the container killed) is finished or undone by the next one.
package optsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Marker, inside a workspace copy, says the copy is complete (ai-dock's
// name, so workspaces synced by ai-dock images are recognised).
const Marker = ".move_complete"

// Options say what to sync where.
type Options struct {
	Root      string   // "/" in a container
	Workspace string   // WORKSPACE, absolute, inside the container
	Items     []string // folder names under /opt (OPT_SYNC)
	// Chown says the workspace keeps owners (WORKSPACE_PERMISSIONS): the
	// copy keeps the owners of /opt's files; otherwise chown errors are
	// expected and ignored.
	Chown bool
	// Margin is free space kept on the volume beyond the copy (default
	// 64 MiB, or a twentieth of a smaller volume).
	Margin int64
	// Progress is how often a long copy says how far it is (default 10 s).
	Progress time.Duration
	Log      func(string)
}

// Items splits OPT_SYNC: names separated by ':' (ai-dock's), ',' or
// spaces.
func Items(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(f, "/opt/"), "/"))
	}
	return out
}

// Sync syncs every item; a problem with one is returned among the
// warnings and the others go on.
func Sync(ctx context.Context, o Options) []string {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Progress == 0 {
		o.Progress = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	var warn []string
	for _, name := range o.Items {
		if err := ctx.Err(); err != nil {
			warn = append(warn, fmt.Sprintf("OPT_SYNC %s: not synced: %v", name, err))
			continue
		}
		t0 := time.Now()
		msg, err := o.item(ctx, name)
		if err != nil {
			warn = append(warn, fmt.Sprintf("OPT_SYNC %s: %v", name, err))
			continue
		}
		o.Log(fmt.Sprintf("/opt/%s: %s (%s)", name, msg, time.Since(t0).Round(time.Millisecond)))
	}
	return warn
}

func validName(n string) bool {
	return n != "" && n != "ai-dock" && !strings.ContainsAny(n, "/\x00") && !strings.HasPrefix(n, ".")
}

// item syncs one folder and says what it did.
func (o Options) item(ctx context.Context, name string) (string, error) {
	if !validName(name) {
		return "", errors.New("not a folder name under /opt (no /, not hidden, not ai-dock); skipped")
	}
	if rel, err := filepath.Rel("/opt/"+name, o.Workspace); err == nil && !strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("the workspace %s lies inside /opt/%s: a copy would contain itself; skipped", o.Workspace, name)
	}
	src := filepath.Join(o.Root, "opt", name)
	want := filepath.Join(o.Workspace, name) // the link's target, inside the container
	dst := filepath.Join(o.Root, want)
	tmp := filepath.Join(o.Root, o.Workspace, "."+name+".gpudesk-sync")
	old := filepath.Join(o.Root, "opt", "."+name+".gpudesk-old")
	complete := isFile(filepath.Join(dst, Marker))

	// An earlier run stopped half-way: a partial copy (ours, by its name)
	// goes; /opt's original comes back unless the link is already there.
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("removing the partial copy %s: %w", tmp, err)
	}
	if _, err := os.Lstat(old); err == nil {
		if cur, _ := os.Readlink(src); cur == want && complete {
			os.RemoveAll(old)
		} else if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(old, src); err != nil {
				return "", fmt.Errorf("restoring %s from %s: %w", src, old, err)
			}
		} else {
			return "", fmt.Errorf("both %s and %s exist; left alone (remove the one you do not need)", src, old)
		}
	}

	st, err := os.Lstat(src)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if !complete {
			return "", fmt.Errorf("neither /opt/%s nor a complete %s exists; nothing to sync", name, want)
		}
		return "linked to the workspace's copy", link(src, want)
	case err != nil:
		return "", err
	case st.Mode()&os.ModeSymlink != 0:
		cur, _ := os.Readlink(src)
		if cur == want {
			if complete {
				return "already in the workspace", nil
			}
			return "", fmt.Errorf("/opt/%s links to %s, which is missing or incomplete (no %s): restore it from a backup or remove the link to sync the image's copy", name, want, Marker)
		}
		if _, err := os.Stat(src); err == nil {
			return "", fmt.Errorf("/opt/%s is a link to %s, not a folder; left alone", name, cur)
		}
		// A link left by another workspace path: dangling, replaced.
		if !complete {
			return "", fmt.Errorf("/opt/%s is a dangling link to %s and %s is missing; nothing to sync", name, cur, want)
		}
		os.Remove(src)
		return "relinked to the workspace's copy", link(src, want)
	case !st.IsDir():
		return "", fmt.Errorf("/opt/%s is not a folder; skipped", name)
	}

	if _, err := os.Lstat(dst); err == nil {
		if !complete {
			return "", fmt.Errorf("%s exists but holds no %s (not made by a sync): left alone, /opt/%s stays in the container; move it away to sync", want, Marker, name)
		}
		// A new container on a synced volume: the workspace's copy holds
		// the user's changes and wins over the image's.
		if err := swap(src, old, want); err != nil {
			return "", err
		}
		return "kept the workspace's copy; the image's copy is replaced by a link", nil
	}

	if err := o.fits(src); err != nil {
		return "", err
	}
	started, err := fileClock(filepath.Dir(src))
	if err != nil {
		return "", err
	}
	if err := o.copyTree(ctx, name, src, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if changed := changedSince(src, started); changed != "" {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("%s changed while it was copied (a program wrote to it; it should wait for /run/workspace_sync to go): nothing moved, tried again at the next start", changed)
	}
	if err := os.WriteFile(filepath.Join(tmp, Marker), []byte("copied from /opt/"+name+" on "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("marking the copy: %w", err)
	}
	syncFS(tmp)
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("renaming the copy to %s: %w", dst, err)
	}
	if err := swap(src, old, want); err != nil {
		return "", err
	}
	return "moved to the workspace", nil
}

// swap replaces the folder src by a link to want, keeping src as old
// until the link is made.
func swap(src, old, want string) error {
	if err := os.Rename(src, old); err != nil {
		return fmt.Errorf("moving %s aside: %w", src, err)
	}
	if err := link(src, want); err != nil {
		if rerr := os.Rename(old, src); rerr != nil {
			return fmt.Errorf("%v; and restoring it from %s: %v", err, old, rerr)
		}
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing the image's copy %s (the link is made): %w", old, err)
	}
	return nil
}

func link(src, want string) error {
	if err := os.Symlink(want, src); err != nil {
		return fmt.Errorf("linking %s to %s: %w", src, want, err)
	}
	return nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// fits checks the volume has room for src's files and the margin.
func (o Options) fits(src string) error {
	var need int64
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				need += info.Size()
			}
		}
		return nil
	})
	var fs syscall.Statfs_t
	ws := filepath.Join(o.Root, o.Workspace)
	if err := syscall.Statfs(ws, &fs); err != nil {
		return fmt.Errorf("reading the free space of %s: %w", o.Workspace, err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	margin := o.Margin
	if margin == 0 {
		margin = min(64<<20, int64(fs.Blocks)*int64(fs.Bsize)/20)
	}
	if need+margin > free {
		return fmt.Errorf("needs %d MiB and %s has %d MiB free (keeping %d MiB): nothing moved", need>>20, o.Workspace, free>>20, margin>>20)
	}
	return nil
}

// fileClock returns the time the file system gives a change made now, in
// dir, once its clock has moved past what it gave anything before: a
// change made from then on has a ctime at or after it, and nothing made
// earlier does. time.Now() cannot serve: the kernel stamps files from a
// coarse clock a few milliseconds behind it, so a file written just after
// time.Now() can carry an earlier ctime and go unseen (it did, in a test
// writing into the folder as its copy began).
func fileClock(dir string) (time.Time, error) {
	stamp := func() (time.Time, error) {
		f, err := os.CreateTemp(dir, ".gpudesk-sync-clock")
		if err != nil {
			return time.Time{}, fmt.Errorf("reading the file system's clock in %s: %w", dir, err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			return time.Time{}, fmt.Errorf("reading the file system's clock in %s: %w", dir, err)
		}
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec), nil
	}
	before, err := stamp()
	if err != nil {
		return time.Time{}, err
	}
	for deadline := time.Now().Add(time.Second); ; {
		now, err := stamp()
		if err != nil || now.After(before) || time.Now().After(deadline) {
			return now, err
		}
		time.Sleep(time.Millisecond)
	}
}

// changedSince returns the first path under dir changed (ctime) at or
// after t, or "".
func changedSince(dir string, t time.Time) string {
	found := ""
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipAll
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) == nil && !time.Unix(st.Ctim.Sec, st.Ctim.Nsec).Before(t) {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// syncFS flushes the volume holding p before the copy is renamed into
// place and /opt's original is removed (a power cut must not leave a
// marked copy with missing data).
func syncFS(p string) {
	if f, err := os.Open(p); err == nil {
		unix.Syncfs(int(f.Fd()))
		f.Close()
	}
}

package optsync

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(s), mode))
	must(t, os.Chmod(p, mode))
}

// image makes /opt/App as an image would ship it: nested folders, an
// executable, a private file owned by another uid, a symlink, a hard link.
func image(t *testing.T, root, version string) {
	t.Helper()
	app := filepath.Join(root, "opt/App")
	must(t, os.MkdirAll(filepath.Join(root, "workspace"), 0o755))
	write(t, filepath.Join(app, "main.py"), "print('"+version+"')\n", 0o755)
	write(t, filepath.Join(app, "models/weights.bin"), strings.Repeat("w", 100000), 0o640)
	write(t, filepath.Join(app, "secret/key"), "k", 0o600)
	must(t, os.Chmod(filepath.Join(app, "secret"), 0o700))
	if os.Geteuid() == 0 {
		must(t, os.Lchown(filepath.Join(app, "secret/key"), 1234, 4321))
	}
	must(t, os.Symlink("models/weights.bin", filepath.Join(app, "weights")))
	must(t, os.Link(filepath.Join(app, "main.py"), filepath.Join(app, "main-link.py")))
}

// tree describes every entry under dir: mode, owner, content or target.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == Marker {
			return nil
		}
		st, err := os.Lstat(p)
		must(t, err)
		sys := st.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", st.Mode(), sys.Uid, sys.Gid)
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += fmt.Sprintf(" %d %q %d", len(b), b[:min(len(b), 20)], st.ModTime().Unix())
		}
		out[rel] = desc
		return nil
	})
	return out
}

func run(t *testing.T, o Options) ([]string, []string) {
	t.Helper()
	var mu sync.Mutex
	var logged []string
	if o.Log == nil {
		o.Log = func(s string) { mu.Lock(); logged = append(logged, s); mu.Unlock() }
	}
	if o.Workspace == "" {
		o.Workspace = "/workspace"
	}
	if o.Items == nil {
		o.Items = []string{"App"}
	}
	must(t, os.MkdirAll(filepath.Join(o.Root, o.Workspace), 0o755))
	return Sync(context.Background(), o), logged
}

func TestSync_MovesKeepsEverythingAndSecondRunChangesNothing(t *testing.T) {
	root := t.TempDir()
	image(t, root, "v1")
	before := tree(t, filepath.Join(root, "opt/App"))
	warn, logged := run(t, Options{Root: root, Chown: true})
	if len(warn) != 0 {
		t.Fatalf("warnings %q", warn)
	}
	if l, _ := os.Readlink(filepath.Join(root, "opt/App")); l != "/workspace/App" {
		t.Fatalf("/opt/App links to %q, want /workspace/App", l)
	}
	ws := filepath.Join(root, "workspace/App")
	if after := tree(t, ws); !reflect.DeepEqual(before, after) {
		t.Errorf("the workspace copy differs from /opt's:\n%v\n%v", before, after)
	}
	var a, b syscall.Stat_t
	must(t, syscall.Stat(filepath.Join(ws, "main.py"), &a))
	must(t, syscall.Stat(filepath.Join(ws, "main-link.py"), &b))
	if a.Ino != b.Ino {
		t.Error("the hard link became two files")
	}
	if _, err := os.Stat(filepath.Join(ws, Marker)); err != nil {
		t.Errorf("no %s in the copy: %v", Marker, err)
	}
	left, _ := filepath.Glob(filepath.Join(root, "*/.App.gpudesk-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "/opt/App: moved to the workspace") {
		t.Errorf("log %q", logged)
	}

	snap := tree(t, root)
	warn, logged = run(t, Options{Root: root, Chown: true})
	if len(warn) != 0 || len(logged) != 1 || !strings.Contains(logged[0], "already in the workspace") {
		t.Errorf("second run: warnings %q, log %q", warn, logged)
	}
	if again := tree(t, root); !reflect.DeepEqual(snap, again) {
		t.Errorf("the second run changed files")
	}
}

// A new container on the same volume: the image's fresh /opt/App gives way
// to the workspace's copy, which holds the user's changes.
func TestSync_NewContainerKeepsTheWorkspaceCopy(t *testing.T) {
	root := t.TempDir()
	image(t, root, "v1")
	if warn, _ := run(t, Options{Root: root}); len(warn) != 0 {
		t.Fatal(warn)
	}
	write(t, filepath.Join(root, "workspace/App/user-work.txt"), "mine", 0o644)
	// The next container: /opt is the image's again.
	must(t, os.Remove(filepath.Join(root, "opt/App")))
	image(t, root, "v2")
	warn, logged := run(t, Options{Root: root})
	if len(warn) != 0 || !strings.Contains(strings.Join(logged, "\n"), "kept the workspace's copy") {
		t.Fatalf("warnings %q log %q", warn, logged)
	}
	// The link's target is the container's path: read it below root.
	if l, _ := os.Readlink(filepath.Join(root, "opt/App")); l != "/workspace/App" {
		t.Fatalf("/opt/App links to %q", l)
	}
	if b, err := os.ReadFile(filepath.Join(root, "workspace/App/user-work.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the user's file: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "workspace/App/main.py")); string(b) != "print('v1')\n" {
		t.Errorf("main.py %q: the workspace's copy should win", b)
	}
	if _, err := os.Lstat(filepath.Join(root, "opt/.App.gpudesk-old")); err == nil {
		t.Error("the image's copy was kept aside")
	}
}

// Cases where nothing may be touched: a workspace folder the user made
// (no marker), too little space, a bad name, a copy that fails half-way,
// a folder written to while it is copied.
func TestSync_RefusesWithoutLosingAnything(t *testing.T) {
	t.Run("workspace folder not made by a sync", func(t *testing.T) {
		root := t.TempDir()
		image(t, root, "v1")
		write(t, filepath.Join(root, "workspace/App/notes.txt"), "user's own", 0o644)
		snap := tree(t, root)
		warn, _ := run(t, Options{Root: root})
		if len(warn) != 1 || !strings.Contains(warn[0], "holds no .move_complete") {
			t.Fatalf("warnings %q", warn)
		}
		if !reflect.DeepEqual(snap, tree(t, root)) {
			t.Error("files changed")
		}
	})
	t.Run("not enough space", func(t *testing.T) {
		root := t.TempDir()
		image(t, root, "v1")
		snap := tree(t, root)
		warn, _ := run(t, Options{Root: root, Margin: 1 << 62})
		if len(warn) != 1 || !strings.Contains(warn[0], "MiB free") {
			t.Fatalf("warnings %q", warn)
		}
		if !reflect.DeepEqual(snap, tree(t, root)) {
			t.Error("files changed")
		}
	})
	t.Run("bad names", func(t *testing.T) {
		root := t.TempDir()
		warn, _ := run(t, Options{Root: root, Items: []string{"../etc", "ai-dock", ".hidden", "Missing"}})
		if len(warn) != 4 || !strings.Contains(warn[0], "not a folder name") || !strings.Contains(warn[3], "nothing to sync") {
			t.Fatalf("warnings %q", warn)
		}
	})
	t.Run("workspace inside the folder", func(t *testing.T) {
		root := t.TempDir()
		image(t, root, "v1")
		must(t, os.MkdirAll(filepath.Join(root, "opt/App/ws"), 0o755))
		snap := tree(t, root)
		warn, _ := run(t, Options{Root: root, Workspace: "/opt/App/ws"})
		if len(warn) != 1 || !strings.Contains(warn[0], "would contain itself") {
			t.Fatalf("warnings %q", warn)
		}
		if !reflect.DeepEqual(snap, tree(t, root)) {
			t.Error("files changed")
		}
	})
	t.Run("stopped half-way", func(t *testing.T) {
		root := t.TempDir()
		image(t, root, "v1")
		snap := tree(t, root)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		must(t, os.MkdirAll(filepath.Join(root, "workspace"), 0o755))
		// The first progress line (after the first file) stops the copy,
		// as a supervisorctl stop would.
		warn := Sync(ctx, Options{Root: root, Workspace: "/workspace", Items: []string{"App"}, Progress: time.Nanosecond,
			Log: func(string) { cancel() }})
		if len(warn) != 1 || !strings.Contains(warn[0], "nothing moved") {
			t.Fatalf("warnings %q", warn)
		}
		if !reflect.DeepEqual(snap, tree(t, root)) {
			t.Errorf("files changed:\n%v\n%v", snap, tree(t, root))
		}
	})
	t.Run("written to while copied", func(t *testing.T) {
		root := t.TempDir()
		image(t, root, "v1")
		once := sync.Once{}
		warn, _ := run(t, Options{Root: root, Progress: time.Nanosecond, Log: func(string) {
			once.Do(func() { write(t, filepath.Join(root, "opt/App/new-output.txt"), "written by the app", 0o644) })
		}})
		if len(warn) != 1 || !strings.Contains(warn[0], "changed while it was copied") {
			t.Fatalf("warnings %q", warn)
		}
		if st, err := os.Lstat(filepath.Join(root, "opt/App")); err != nil || !st.IsDir() {
			t.Fatalf("/opt/App is no longer the folder: %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "opt/App/new-output.txt")); string(b) != "written by the app" {
			t.Error("the app's file is lost")
		}
		if _, err := os.Lstat(filepath.Join(root, "workspace/App")); err == nil {
			t.Error("a copy was left in the workspace")
		}
	})
}

// A container killed in the middle: the partial copy is dropped and
// /opt's original, moved aside, comes back; the next run syncs.
func TestSync_FinishesAnInterruptedRun(t *testing.T) {
	root := t.TempDir()
	image(t, root, "v1")
	before := tree(t, filepath.Join(root, "opt/App"))
	write(t, filepath.Join(root, "workspace/.App.gpudesk-sync/half"), "partial", 0o644)
	must(t, os.Rename(filepath.Join(root, "opt/App"), filepath.Join(root, "opt/.App.gpudesk-old")))
	warn, _ := run(t, Options{Root: root, Chown: true})
	if len(warn) != 0 {
		t.Fatal(warn)
	}
	if !reflect.DeepEqual(before, tree(t, filepath.Join(root, "workspace/App"))) {
		t.Error("the copy differs from the original")
	}
	left, _ := filepath.Glob(filepath.Join(root, "*/.App.gpudesk-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

func TestItems(t *testing.T) {
	if got := Items("ComfyUI:/opt/kohya_ss/, extra  more"); !reflect.DeepEqual(got, []string{"ComfyUI", "kohya_ss", "extra", "more"}) {
		t.Errorf("Items: %q", got)
	}
}

package storagemonitor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// testWatcher is the real fsnotify watcher with faults the test turns on:
// Add fails with ENOSPC for some folders (the inotify watch limit),
// events can be dropped (lost in an overflow) and errors injected.
type testWatcher struct {
	real   Watcher
	events chan fsnotify.Event
	errors chan error
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex
	deny func(dir string) bool
	drop func(fsnotify.Event) bool
}

func (w *testWatcher) Add(dir string) error {
	w.mu.Lock()
	deny := w.deny
	w.mu.Unlock()
	if deny != nil && deny(dir) {
		return syscall.ENOSPC
	}
	return w.real.Add(dir)
}

func (w *testWatcher) Remove(dir string) error       { return w.real.Remove(dir) }
func (w *testWatcher) Events() <-chan fsnotify.Event { return w.events }
func (w *testWatcher) Errors() <-chan error          { return w.errors }

func (w *testWatcher) Close() error {
	w.once.Do(func() { close(w.done) })
	return w.real.Close()
}

func (w *testWatcher) forward() {
	for {
		select {
		case ev, ok := <-w.real.Events():
			if !ok {
				return
			}
			w.mu.Lock()
			drop := w.drop
			w.mu.Unlock()
			if drop != nil && drop(ev) {
				continue
			}
			select {
			case w.events <- ev:
			case <-w.done:
				return
			}
		case err, ok := <-w.real.Errors():
			if !ok {
				return
			}
			select {
			case w.errors <- err:
			case <-w.done:
				return
			}
		case <-w.done:
			return
		}
	}
}

// faults makes the watchers of one monitor and keeps the current one.
type faults struct {
	mu      sync.Mutex
	current *testWatcher
	made    int
	deny    func(string) bool
	drop    func(fsnotify.Event) bool
}

func (f *faults) newWatcher() (Watcher, error) {
	real, err := NewFSNotify()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &testWatcher{real: real, events: make(chan fsnotify.Event), errors: make(chan error), done: make(chan struct{}), deny: f.deny, drop: f.drop}
	go w.forward()
	f.current = w
	f.made++
	return w, nil
}

func (f *faults) set(deny func(string) bool, drop func(fsnotify.Event) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny, f.drop = deny, drop
	if f.current != nil {
		f.current.mu.Lock()
		f.current.deny, f.current.drop = deny, drop
		f.current.mu.Unlock()
	}
}

func (f *faults) inject(err error) {
	f.mu.Lock()
	w := f.current
	f.mu.Unlock()
	select {
	case w.errors <- err:
	case <-w.done:
	}
}

func TestMonitor_Run(t *testing.T) {
	// setup starts a monitor mapping storage "m" to three targets.
	setup := func(t *testing.T) (*env, string, []string) {
		e := newEnv(t)
		targets := []string{e.target("a"), e.target("b"), e.target("c")}
		mkdir(t, filepath.Join(e.storage, "m"))
		e.run(e.options(mapping("m", targets...)))
		return e, filepath.Join(e.storage, "m"), targets
	}
	waitLinks := func(t *testing.T, targets []string, sub, src string) {
		t.Helper()
		for _, tg := range targets {
			waitLink(t, filepath.Join(tg, sub), src)
		}
	}
	waitNoLinks := func(t *testing.T, targets []string, sub string) {
		t.Helper()
		for _, tg := range targets {
			waitGone(t, filepath.Join(tg, sub))
		}
	}

	t.Run("create file", func(t *testing.T) {
		e, s, targets := setup(t)
		write(t, filepath.Join(s, "new.bin"), "n")
		waitLinks(t, targets, "new.bin", filepath.Join(s, "new.bin"))
		e.waitLog(`"message":"linked"`, `"link":"`+filepath.Join(targets[2], "new.bin")+`"`)
	})

	t.Run("create folder tree, files written before the watches land", func(t *testing.T) {
		_, s, targets := setup(t)
		deep := filepath.Join(s, "a", "b", "c", "d", "e")
		mkdir(t, deep)
		for p := deep; p != s; p = filepath.Dir(p) {
			write(t, filepath.Join(p, "f.bin"), p)
		}
		for i := range 50 {
			write(t, filepath.Join(s, "a", fmt.Sprintf("burst%02d.bin", i)), "b")
		}
		for p := deep; p != s; p = filepath.Dir(p) {
			rel, _ := filepath.Rel(s, filepath.Join(p, "f.bin"))
			waitLinks(t, targets, rel, filepath.Join(p, "f.bin"))
		}
		for i := range 50 {
			n := fmt.Sprintf("burst%02d.bin", i)
			waitLinks(t, targets, filepath.Join("a", n), filepath.Join(s, "a", n))
		}
		// and the new folders are watched
		write(t, filepath.Join(deep, "later.bin"), "l")
		waitLinks(t, targets, "a/b/c/d/e/later.bin", filepath.Join(deep, "later.bin"))
	})

	t.Run("mapped folder created after start", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("ckpt")
		e.run(e.options(mapping("stable_diffusion/models/ckpt", tg)))
		p := filepath.Join(e.storage, "stable_diffusion", "models", "ckpt", "model.safetensors")
		write(t, p, "m")
		waitLink(t, filepath.Join(tg, "model.safetensors"), p)
	})

	t.Run("move in and move out", func(t *testing.T) {
		e, s, targets := setup(t)
		outside := e.path("downloads")
		write(t, filepath.Join(outside, "file.bin"), "f")
		write(t, filepath.Join(outside, "tree", "sub", "deep.bin"), "d")
		if err := os.Rename(filepath.Join(outside, "file.bin"), filepath.Join(s, "file.bin")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(outside, "tree"), filepath.Join(s, "tree")); err != nil {
			t.Fatal(err)
		}
		waitLinks(t, targets, "file.bin", filepath.Join(s, "file.bin"))
		waitLinks(t, targets, "tree/sub/deep.bin", filepath.Join(s, "tree", "sub", "deep.bin"))

		if err := os.Rename(filepath.Join(s, "file.bin"), filepath.Join(outside, "file.bin")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(s, "tree"), filepath.Join(outside, "tree")); err != nil {
			t.Fatal(err)
		}
		waitNoLinks(t, targets, "file.bin")
		waitNoLinks(t, targets, "tree/sub/deep.bin")
		// the folder moved out is not watched under its old name any more
		write(t, filepath.Join(outside, "tree", "sub", "after.bin"), "a")
		write(t, filepath.Join(s, "sentinel.bin"), "s")
		waitLinks(t, targets, "sentinel.bin", filepath.Join(s, "sentinel.bin"))
		for _, tg := range targets {
			wantGone(t, filepath.Join(tg, "tree", "sub", "after.bin"))
		}
	})

	t.Run("rename file and folder", func(t *testing.T) {
		_, s, targets := setup(t)
		write(t, filepath.Join(s, "old.bin"), "o")
		write(t, filepath.Join(s, "olddir", "sub", "x.bin"), "x")
		waitLinks(t, targets, "old.bin", filepath.Join(s, "old.bin"))
		waitLinks(t, targets, "olddir/sub/x.bin", filepath.Join(s, "olddir", "sub", "x.bin"))
		os.Rename(filepath.Join(s, "old.bin"), filepath.Join(s, "new.bin"))
		os.Rename(filepath.Join(s, "olddir"), filepath.Join(s, "newdir"))
		waitLinks(t, targets, "new.bin", filepath.Join(s, "new.bin"))
		waitLinks(t, targets, "newdir/sub/x.bin", filepath.Join(s, "newdir", "sub", "x.bin"))
		waitNoLinks(t, targets, "old.bin")
		waitNoLinks(t, targets, "olddir/sub/x.bin")
		// the renamed folder's watches report the new names
		write(t, filepath.Join(s, "newdir", "sub", "y.bin"), "y")
		waitLinks(t, targets, "newdir/sub/y.bin", filepath.Join(s, "newdir", "sub", "y.bin"))
		// a new folder under the old name is a new folder
		write(t, filepath.Join(s, "olddir", "z.bin"), "z")
		waitLinks(t, targets, "olddir/z.bin", filepath.Join(s, "olddir", "z.bin"))
	})

	t.Run("delete file and folder tree", func(t *testing.T) {
		_, s, targets := setup(t)
		write(t, filepath.Join(s, "f.bin"), "f")
		write(t, filepath.Join(s, "tree", "a", "b", "deep.bin"), "d")
		write(t, filepath.Join(s, "tree", "top.bin"), "t")
		waitLinks(t, targets, "f.bin", filepath.Join(s, "f.bin"))
		waitLinks(t, targets, "tree/a/b/deep.bin", filepath.Join(s, "tree", "a", "b", "deep.bin"))
		os.Remove(filepath.Join(s, "f.bin"))
		os.RemoveAll(filepath.Join(s, "tree"))
		waitNoLinks(t, targets, "f.bin")
		waitNoLinks(t, targets, "tree/a/b/deep.bin")
		waitNoLinks(t, targets, "tree/top.bin")
	})

	t.Run("odd names", func(t *testing.T) {
		_, s, targets := setup(t)
		for _, n := range []string{"with space.bin", "ünïcødé 日本語.bin", "new\nline.bin", "tab\there.bin", "'quote\".bin", "dir with space/nested\nname.bin"} {
			write(t, filepath.Join(s, n), n)
			waitLinks(t, targets, n, filepath.Join(s, n))
			os.Remove(filepath.Join(s, n))
			waitNoLinks(t, targets, n)
		}
	})

	t.Run("a user's symlink is never removed", func(t *testing.T) {
		e, s, targets := setup(t)
		write(t, filepath.Join(s, "model.bin"), "m")
		waitLinks(t, targets, "model.bin", filepath.Join(s, "model.bin"))
		// the user replaces our link in one target with their own
		write(t, e.path("mine.bin"), "mine")
		os.Remove(filepath.Join(targets[0], "model.bin"))
		symlink(t, e.path("mine.bin"), filepath.Join(targets[0], "model.bin"))
		symlink(t, e.path("nowhere.bin"), filepath.Join(targets[0], "broken-users.bin"))
		os.Remove(filepath.Join(s, "model.bin"))
		waitNoLinks(t, targets[1:], "model.bin")
		write(t, filepath.Join(s, "broken-users.bin"), "b")
		os.Remove(filepath.Join(s, "broken-users.bin"))
		write(t, filepath.Join(s, "sentinel.bin"), "s")
		waitLinks(t, targets, "sentinel.bin", filepath.Join(s, "sentinel.bin"))
		wantLink(t, filepath.Join(targets[0], "model.bin"), e.path("mine.bin"), "mine")
		if linkOf(filepath.Join(targets[0], "broken-users.bin")) != e.path("nowhere.bin") {
			t.Fatal("the user's broken link was removed")
		}
	})

	t.Run("conflict logged once", func(t *testing.T) {
		e, s, targets := setup(t)
		write(t, filepath.Join(targets[0], "app.bin"), "the app's")
		write(t, filepath.Join(s, "app.bin"), "v1")
		waitLinks(t, targets[1:], "app.bin", filepath.Join(s, "app.bin"))
		// the file is saved again and again (written to a temporary name
		// and renamed over)
		for i := range 3 {
			write(t, filepath.Join(s, ".tmp"), fmt.Sprint("v", i+2))
			os.Rename(filepath.Join(s, ".tmp"), filepath.Join(s, "app.bin"))
		}
		write(t, filepath.Join(s, "sentinel.bin"), "s")
		waitLinks(t, targets, "sentinel.bin", filepath.Join(s, "sentinel.bin"))
		if b, _ := os.ReadFile(filepath.Join(targets[0], "app.bin")); string(b) != "the app's" {
			t.Fatalf("the app's file was overwritten: %q", b)
		}
		if n := e.log.count("conflict", `"path":"`+filepath.Join(targets[0], "app.bin")+`"`); n != 1 {
			t.Fatalf("%d conflict lines, want 1:\n%s", n, e.log)
		}
	})

	t.Run("overlapping mappings: deleting the winner links the other", func(t *testing.T) {
		e := newEnv(t)
		up := e.target("upscale")
		write(t, filepath.Join(e.storage, "esrgan", "x.pth"), "esrgan")
		write(t, filepath.Join(e.storage, "vae_approx", "x.pth"), "vae")
		e.run(e.options(mapping("esrgan", up), mapping("vae_approx", up)))
		wantLink(t, filepath.Join(up, "x.pth"), filepath.Join(e.storage, "esrgan", "x.pth"), "esrgan")
		os.Remove(filepath.Join(e.storage, "esrgan", "x.pth"))
		waitLink(t, filepath.Join(up, "x.pth"), filepath.Join(e.storage, "vae_approx", "x.pth"))
		write(t, filepath.Join(e.storage, "esrgan", "x.pth"), "back")
		waitLink(t, filepath.Join(up, "x.pth"), filepath.Join(e.storage, "esrgan", "x.pth"))
	})

	t.Run("symlinked storage root", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("t")
		real := e.path("volume", "storage")
		mkdir(t, filepath.Join(real, "m"))
		link := e.path("ws", "storage")
		symlink(t, real, link)
		opts := e.options(mapping("m", tg))
		opts.Storage = link
		e.run(opts)
		write(t, filepath.Join(link, "m", "via-link.bin"), "l")
		write(t, filepath.Join(real, "m", "via-real", "x.bin"), "r")
		waitLink(t, filepath.Join(tg, "via-link.bin"), filepath.Join(link, "m", "via-link.bin"))
		waitLink(t, filepath.Join(tg, "via-real", "x.bin"), filepath.Join(link, "m", "via-real", "x.bin"))
		os.Remove(filepath.Join(link, "m", "via-link.bin"))
		waitGone(t, filepath.Join(tg, "via-link.bin"))
	})
}

func TestMonitor_WatchLimit(t *testing.T) {
	e := newEnv(t)
	tg := e.target("t")
	write(t, e.path("proc", "sys", "fs", "inotify", "max_user_watches"), "8192\n")
	s := filepath.Join(e.storage, "m")
	write(t, filepath.Join(s, "crowded", "f1.bin"), "1")
	f := &faults{}
	f.set(func(dir string) bool { return strings.Contains(dir, "/crowded") }, nil)
	opts := e.options(mapping("m", tg))
	opts.NewWatcher = f.newWatcher
	opts.RescanInterval = 100 * 1e6 // 100ms
	e.run(opts)

	wantLink(t, filepath.Join(tg, "crowded", "f1.bin"), filepath.Join(s, "crowded", "f1.bin"), "1")
	want := `"path":"` + filepath.Join(s, "crowded") + `"`
	e.waitLog(`"level":"error"`, want, "inotify watch limit reached: fs.inotify.max_user_watches is 8192 and 1 storage folders could not be watched; raise it on the host to at least 524288 (sysctl -w fs.inotify.max_user_watches=524288", "re-scanned every 100ms")

	// no events come from the unwatched folder: the re-scan finds the changes
	write(t, filepath.Join(s, "crowded", "f2.bin"), "2")
	write(t, filepath.Join(s, "crowded", "new sub", "f3.bin"), "3")
	waitLink(t, filepath.Join(tg, "crowded", "f2.bin"), filepath.Join(s, "crowded", "f2.bin"))
	waitLink(t, filepath.Join(tg, "crowded", "new sub", "f3.bin"), filepath.Join(s, "crowded", "new sub", "f3.bin"))
	os.Remove(filepath.Join(s, "crowded", "f1.bin"))
	waitGone(t, filepath.Join(tg, "crowded", "f1.bin"))
	if n := e.log.count("inotify watch limit reached"); n != 1 {
		t.Fatalf("the limit was reported %d times, want once:\n%s", n, e.log)
	}

	// the limit is raised: the folders are watched again
	f.set(nil, nil)
	e.waitLog("every storage folder is watched again")
	write(t, filepath.Join(s, "crowded", "f4.bin"), "4")
	waitLink(t, filepath.Join(tg, "crowded", "f4.bin"), filepath.Join(s, "crowded", "f4.bin"))
}

func TestMonitor_Overflow(t *testing.T) {
	e := newEnv(t)
	tg := e.target("t")
	s := filepath.Join(e.storage, "m")
	mkdir(t, s)
	f := &faults{}
	f.set(nil, func(ev fsnotify.Event) bool { return strings.Contains(ev.Name, "lost") })
	opts := e.options(mapping("m", tg))
	opts.NewWatcher = f.newWatcher
	e.run(opts)
	write(t, filepath.Join(s, "lost.bin"), "l")
	write(t, filepath.Join(s, "sentinel.bin"), "s")
	waitLink(t, filepath.Join(tg, "sentinel.bin"), filepath.Join(s, "sentinel.bin"))
	if exists(filepath.Join(tg, "lost.bin")) {
		t.Fatal("the dropped event was seen")
	}
	f.set(nil, nil)
	f.inject(fsnotify.ErrEventOverflow)
	waitLink(t, filepath.Join(tg, "lost.bin"), filepath.Join(s, "lost.bin"))
	e.waitLog("the inotify event queue overflowed")
	// watching goes on with the new watcher
	write(t, filepath.Join(s, "after.bin"), "a")
	waitLink(t, filepath.Join(tg, "after.bin"), filepath.Join(s, "after.bin"))
	if f.made != 2 {
		t.Fatalf("%d watchers made, want 2", f.made)
	}
}

func TestMonitor_PendingTarget(t *testing.T) {
	t.Run("installed later, folder and all", func(t *testing.T) {
		e := newEnv(t)
		write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
		later := e.path("opt", "installed-later", "models")
		opts := e.options(Mapping{Storage: "m", Targets: []string{later}, File: "/etc/storagemonitor/mappings.toml", Entry: "[[map]] #1 (line 1)"})
		opts.RescanInterval = 100 * 1e6
		e.run(opts)
		e.waitLog(`"level":"warn"`, "/etc/storagemonitor/mappings.toml: [[map]] #1 (line 1): target folder does not exist: "+later)
		mkdir(t, later)
		waitLink(t, filepath.Join(later, "f.bin"), filepath.Join(e.storage, "m", "f.bin"))
		e.waitLog("the target folder exists now")
		write(t, filepath.Join(e.storage, "m", "g.bin"), "g")
		waitLink(t, filepath.Join(later, "g.bin"), filepath.Join(e.storage, "m", "g.bin"))
	})

	t.Run("installed later without the folder: made", func(t *testing.T) {
		e := newEnv(t)
		write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
		app := e.path("opt", "App")
		tg := filepath.Join(app, "models")
		opts := e.options(mapping("m", tg))
		opts.RescanInterval = 100 * 1e6
		e.run(opts)
		e.waitLog(`"level":"warn"`, "target folder does not exist: "+tg)
		mkdir(t, app)
		waitLink(t, filepath.Join(tg, "f.bin"), filepath.Join(e.storage, "m", "f.bin"))
		e.waitLog(`"level":"info"`, "made the missing target folder", `"path":"`+tg+`"`)
		write(t, filepath.Join(e.storage, "m", "g.bin"), "g")
		waitLink(t, filepath.Join(tg, "g.bin"), filepath.Join(e.storage, "m", "g.bin"))
	})
}

func TestMonitor_StorageMissing(t *testing.T) {
	t.Run("cannot be made yet: waits with a log line", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("t")
		blocker := e.path("mnt")
		write(t, blocker, "not a folder yet")
		opts := e.options(mapping("m", tg))
		opts.Storage = filepath.Join(blocker, "storage")
		opts.StorageRetry = 50 * 1e6
		m, _ := New(opts)
		done := make(chan struct{})
		ctx, cancel := contextWithCancel()
		go func() { defer close(done); m.Run(ctx) }()
		defer func() { cancel(); <-done }()
		e.waitLog(`"level":"warn"`, "the storage folder cannot be created; trying again every 50ms until it can", `"path":"`+opts.Storage+`"`)
		os.Remove(blocker)
		write(t, filepath.Join(opts.Storage, "m", "f.bin"), "f")
		e.waitLog("start-up pass done")
		waitLink(t, filepath.Join(tg, "f.bin"), filepath.Join(opts.Storage, "m", "f.bin"))
	})

	t.Run("removed while running, then back", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("t")
		write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
		opts := e.options(mapping("m", tg))
		opts.RescanInterval = 100 * 1e6
		e.run(opts)
		wantLink(t, filepath.Join(tg, "f.bin"), filepath.Join(e.storage, "m", "f.bin"), "f")
		os.RemoveAll(e.storage)
		e.waitLog("the storage folder was removed or moved")
		waitGone(t, filepath.Join(tg, "f.bin"))
		write(t, filepath.Join(e.storage, "m", "g.bin"), "g")
		waitLink(t, filepath.Join(tg, "g.bin"), filepath.Join(e.storage, "m", "g.bin"))
		write(t, filepath.Join(e.storage, "m", "h.bin"), "h")
		waitLink(t, filepath.Join(tg, "h.bin"), filepath.Join(e.storage, "m", "h.bin"))
	})
}

package storagemonitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMonitor_Once(t *testing.T) {
	t.Run("links files and sub-folders into every target", func(t *testing.T) {
		e := newEnv(t)
		a, b, c := e.target("a"), e.target("b"), e.target("c")
		s := filepath.Join(e.storage, "models", "ckpt")
		names := []string{"one.bin", "with space.bin", "ünïcødé 日本.bin", "new\nline.bin", "-dash", " lead"}
		for _, n := range names {
			write(t, filepath.Join(s, n), n)
		}
		write(t, filepath.Join(s, "sub dir", "deeper", "x.bin"), "x")
		mkdir(t, filepath.Join(s, "empty"))
		write(t, filepath.Join(e.storage, "unmapped", "u.bin"), "u")
		m, err := e.once(e.options(mapping("models/ckpt", a, b, c)))
		if err != nil {
			t.Fatal(err)
		}
		for _, tgt := range []string{a, b, c} {
			for _, n := range names {
				wantLink(t, filepath.Join(tgt, n), filepath.Join(s, n), n)
			}
			wantLink(t, filepath.Join(tgt, "sub dir", "deeper", "x.bin"), filepath.Join(s, "sub dir", "deeper", "x.bin"), "x")
			if fi, err := os.Lstat(filepath.Join(tgt, "sub dir")); err != nil || !fi.IsDir() {
				t.Fatalf("sub-folder is not mirrored as a real folder: %v %v", fi, err)
			}
			if fi, err := os.Lstat(filepath.Join(tgt, "empty")); err != nil || !fi.IsDir() {
				t.Fatalf("empty sub-folder not mirrored: %v", err)
			}
			wantGone(t, filepath.Join(tgt, "u.bin"))
		}
		if st := m.Stats(); st.Linked != 3*(len(names)+1) || st.Files != len(names)+2 || st.Errors != 0 || st.Conflicts != 0 {
			t.Fatalf("stats %+v", st)
		}
		if n := e.log.count(`"message":"linked"`); n != 3*(len(names)+1) {
			t.Fatalf("%d debug lines for links, want one per link:\n%s", n, e.log)
		}
		if e.log.count(`"level":"info"`, "start-up pass done", `"linked":21`) != 1 {
			t.Fatalf("no info summary:\n%s", e.log)
		}
		// A second pass changes nothing.
		before := snapshot(t, e.dir)
		m, err = e.once(e.options(mapping("models/ckpt", a, b, c)))
		if err != nil || m.Stats().Linked != 0 || snapshot(t, e.dir) != before {
			t.Fatalf("second pass changed things: %v %+v", err, m.Stats())
		}
	})

	t.Run("nested mappings and targets inside one another", func(t *testing.T) {
		e := newEnv(t)
		models := e.target("app/models")
		lora := e.target("other/loras")
		write(t, filepath.Join(e.storage, "models", "lora", "l.bin"), "l")
		write(t, filepath.Join(e.storage, "models", "m.bin"), "m")
		if _, err := e.once(e.options(mapping("models", models), mapping("models/lora", lora))); err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(models, "m.bin"), filepath.Join(e.storage, "models", "m.bin"), "m")
		wantLink(t, filepath.Join(models, "lora", "l.bin"), filepath.Join(e.storage, "models", "lora", "l.bin"), "l")
		wantLink(t, filepath.Join(lora, "l.bin"), filepath.Join(e.storage, "models", "lora", "l.bin"), "l")
	})

	t.Run("two mappings to one target: the first wins", func(t *testing.T) {
		e := newEnv(t)
		up := e.target("upscale")
		write(t, filepath.Join(e.storage, "esrgan", "same.pth"), "esrgan")
		write(t, filepath.Join(e.storage, "vae_approx", "same.pth"), "vae")
		write(t, filepath.Join(e.storage, "vae_approx", "only.pth"), "only")
		// the ai-dock comfyui mappings send both folders to upscale_models
		m, err := e.once(e.options(mapping("esrgan", up), mapping("vae_approx", up)))
		if err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(up, "same.pth"), filepath.Join(e.storage, "esrgan", "same.pth"), "esrgan")
		wantLink(t, filepath.Join(up, "only.pth"), filepath.Join(e.storage, "vae_approx", "only.pth"), "only")
		if m.Stats().Conflicts != 1 || e.log.count("conflict: also mapped from "+filepath.Join(e.storage, "esrgan", "same.pth")) != 1 {
			t.Fatalf("conflict not reported once: %+v\n%s", m.Stats(), e.log)
		}
		// Reversed order, same files: the other one wins.
		os.Remove(filepath.Join(up, "same.pth"))
		if _, err := e.once(e.options(mapping("vae_approx", up), mapping("esrgan", up))); err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(up, "same.pth"), filepath.Join(e.storage, "vae_approx", "same.pth"), "vae")
	})

	t.Run("deep tree", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("deep")
		rel := filepath.Join(strings.Split(strings.Repeat("level ", 60), " ")...)
		write(t, filepath.Join(e.storage, "d", rel, "bottom.bin"), "deep")
		if _, err := e.once(e.options(mapping("d", tg))); err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(tg, rel, "bottom.bin"), filepath.Join(e.storage, "d", rel, "bottom.bin"), "deep")
	})

	t.Run("symlinked storage root", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("t")
		real := e.path("volume", "storage")
		write(t, filepath.Join(real, "m", "f.bin"), "f")
		link := e.path("ws", "storage")
		symlink(t, real, link)
		opts := e.options(mapping("m", tg))
		opts.Storage = link
		if _, err := e.once(opts); err != nil {
			t.Fatal(err)
		}
		// links go through the configured name, so re-pointing the root works
		wantLink(t, filepath.Join(tg, "f.bin"), filepath.Join(link, "m", "f.bin"), "f")
		// links the ai-dock images made to the resolved path are ours too:
		// kept while they work, removed once broken
		write(t, filepath.Join(real, "m", "g.bin"), "g")
		symlink(t, filepath.Join(real, "m", "g.bin"), filepath.Join(tg, "g.bin"))
		symlink(t, filepath.Join(real, "m", "gone.bin"), filepath.Join(tg, "gone.bin"))
		if _, err := e.once(opts); err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(tg, "g.bin"), filepath.Join(real, "m", "g.bin"), "g")
		wantGone(t, filepath.Join(tg, "gone.bin"))
	})

	t.Run("storage symlinks: to files linked, dangling skipped, folders linked as they are", func(t *testing.T) {
		e := newEnv(t)
		tg := e.target("t")
		ext := e.path("external")
		write(t, filepath.Join(ext, "big.bin"), "big")
		write(t, filepath.Join(ext, "dir", "in.bin"), "in")
		symlink(t, filepath.Join(ext, "big.bin"), filepath.Join(e.storage, "m", "big.bin"))
		symlink(t, filepath.Join(ext, "dir"), filepath.Join(e.storage, "m", "dirlink"))
		symlink(t, filepath.Join(ext, "nothing"), filepath.Join(e.storage, "m", "dangling.bin"))
		if _, err := e.once(e.options(mapping("m", tg))); err != nil {
			t.Fatal(err)
		}
		wantLink(t, filepath.Join(tg, "big.bin"), filepath.Join(e.storage, "m", "big.bin"), "big")
		wantLinkContent(t, filepath.Join(tg, "dirlink", "in.bin"), "in") // through the folder link
		if linkOf(filepath.Join(tg, "dirlink")) != filepath.Join(e.storage, "m", "dirlink") {
			t.Fatalf("folder symlink not linked as is")
		}
		wantGone(t, filepath.Join(tg, "dangling.bin"))
	})

	t.Run("storage folder missing: created", func(t *testing.T) {
		e := newEnv(t)
		os.RemoveAll(e.storage)
		if _, err := e.once(e.options()); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(e.storage); err != nil || !fi.IsDir() {
			t.Fatalf("storage not created: %v", err)
		}
		if e.log.count("created the storage folder", e.storage) != 1 {
			t.Fatalf("no log line:\n%s", e.log)
		}
	})

	t.Run("storage folder cannot be made: an error, not a hang", func(t *testing.T) {
		e := newEnv(t)
		write(t, e.path("file"), "")
		opts := e.options()
		opts.Storage = e.path("file", "storage")
		_, err := e.once(opts)
		if err == nil || !strings.Contains(err.Error(), "storage folder "+opts.Storage+" cannot be created") {
			t.Fatalf("err = %v", err)
		}
	})
}

func wantLinkContent(t *testing.T, p, content string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != content {
		t.Fatalf("%s: %q %v, want %q", p, b, err, content)
	}
}

func TestMonitor_ImageStorage(t *testing.T) {
	e := newEnv(t)
	tg := e.target("ckpt")
	write(t, filepath.Join(e.image, "models", "ckpt", "bundled.bin"), "bundled")
	write(t, filepath.Join(e.image, "models", "ckpt", ".hidden"), "h")
	write(t, filepath.Join(e.image, "models", "ckpt", "mine.bin"), "image's")
	write(t, filepath.Join(e.image, "models", "ckpt", "userlink.bin"), "image's")
	write(t, filepath.Join(e.image, "models", "ckpt", "stale.bin"), "fresh")
	write(t, filepath.Join(e.image, "other", "deep", "o.bin"), "o")
	// the user's own file and link in the storage win over the image's
	write(t, filepath.Join(e.storage, "models", "ckpt", "mine.bin"), "user's")
	write(t, e.path("elsewhere.bin"), "elsewhere")
	symlink(t, e.path("elsewhere.bin"), filepath.Join(e.storage, "models", "ckpt", "userlink.bin"))
	// a link to an image file that moved is ours to refresh
	symlink(t, filepath.Join(e.image, "old", "stale.bin"), filepath.Join(e.storage, "models", "ckpt", "stale.bin"))

	m, err := e.once(e.options(mapping("models/ckpt", tg)))
	if err != nil {
		t.Fatal(err)
	}
	s := filepath.Join(e.storage, "models", "ckpt")
	wantLink(t, filepath.Join(s, "bundled.bin"), filepath.Join(e.image, "models", "ckpt", "bundled.bin"), "bundled")
	wantLink(t, filepath.Join(s, "stale.bin"), filepath.Join(e.image, "models", "ckpt", "stale.bin"), "fresh")
	wantLink(t, filepath.Join(e.storage, "other", "deep", "o.bin"), filepath.Join(e.image, "other", "deep", "o.bin"), "o")
	wantGone(t, filepath.Join(s, ".hidden"))
	if b, _ := os.ReadFile(filepath.Join(s, "mine.bin")); string(b) != "user's" || linkOf(filepath.Join(s, "mine.bin")) != "" {
		t.Fatalf("the user's file was overwritten")
	}
	wantLink(t, filepath.Join(s, "userlink.bin"), e.path("elsewhere.bin"), "elsewhere")
	// and the image files reach the targets through the storage
	wantLink(t, filepath.Join(tg, "bundled.bin"), filepath.Join(s, "bundled.bin"), "bundled")
	wantLink(t, filepath.Join(tg, "mine.bin"), filepath.Join(s, "mine.bin"), "user's")
	if st := m.Stats(); st.ImageLinked != 3 || st.Conflicts != 2 {
		t.Fatalf("stats %+v\n%s", st, e.log)
	}

	t.Run("same folder: nothing linked", func(t *testing.T) {
		e := newEnv(t)
		write(t, filepath.Join(e.storage, "f.bin"), "f")
		opts := e.options()
		opts.ImageStorage = e.storage
		before := snapshot(t, e.dir)
		if _, err := e.once(opts); err != nil {
			t.Fatal(err)
		}
		if snapshot(t, e.dir) != before {
			t.Fatal("changed the storage")
		}
	})
}

func TestMonitor_Cleanup(t *testing.T) {
	e := newEnv(t)
	tg := e.target("t")
	s := filepath.Join(e.storage, "m")
	write(t, filepath.Join(s, "kept.bin"), "kept")
	// left over by another container sharing the volume: ours, broken
	symlink(t, filepath.Join(s, "deleted.bin"), filepath.Join(tg, "deleted.bin"))
	symlink(t, filepath.Join(s, "sub", "gone.bin"), filepath.Join(tg, "sub", "gone.bin"))
	symlink(t, "../../workspace/storage/m/rel-gone.bin", filepath.Join(tg, "rel-gone.bin"))
	symlink(t, filepath.Join(e.image, "gone.bin"), filepath.Join(tg, "image-gone.bin"))
	// the user's: broken but pointing elsewhere, working, real files
	symlink(t, e.path("nowhere", "x.bin"), filepath.Join(tg, "users-broken.bin"))
	write(t, e.path("x", "y.bin"), "y")
	symlink(t, e.path("x", "y.bin"), filepath.Join(tg, "users.bin"))
	write(t, filepath.Join(tg, "real.bin"), "real")
	// ours and working: a link into the storage the mapping does not make
	write(t, filepath.Join(e.storage, "other", "o.bin"), "o")
	symlink(t, filepath.Join(e.storage, "other", "o.bin"), filepath.Join(tg, "working.bin"))

	m, err := e.once(e.options(mapping("m", tg)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"deleted.bin", "sub/gone.bin", "rel-gone.bin", "image-gone.bin"} {
		wantGone(t, filepath.Join(tg, n))
	}
	if fi, err := os.Stat(filepath.Join(tg, "sub")); err != nil || !fi.IsDir() {
		t.Fatal("a folder was removed")
	}
	if linkOf(filepath.Join(tg, "users-broken.bin")) != e.path("nowhere", "x.bin") {
		t.Fatal("the user's broken link was removed")
	}
	wantLink(t, filepath.Join(tg, "users.bin"), e.path("x", "y.bin"), "y")
	wantLink(t, filepath.Join(tg, "working.bin"), filepath.Join(e.storage, "other", "o.bin"), "o")
	wantLink(t, filepath.Join(tg, "kept.bin"), filepath.Join(s, "kept.bin"), "kept")
	if b, _ := os.ReadFile(filepath.Join(tg, "real.bin")); string(b) != "real" {
		t.Fatal("a real file was touched")
	}
	if st := m.Stats(); st.Removed != 4 {
		t.Fatalf("removed %d, want 4\n%s", st.Removed, e.log)
	}
	if e.log.count(`"message":"removed stale link"`) != 4 {
		t.Fatalf("want one debug line per removal:\n%s", e.log)
	}
}

func TestMonitor_Conflicts(t *testing.T) {
	e := newEnv(t)
	tg := e.target("t")
	s := filepath.Join(e.storage, "m")
	for _, n := range []string{"real.bin", "dir.bin", "users.bin", "ours-other.bin", "equivalent.bin"} {
		write(t, filepath.Join(s, n), n)
	}
	write(t, filepath.Join(s, "aidock-dir", "in.bin"), "in")
	write(t, filepath.Join(s, "blocked", "in.bin"), "in")
	write(t, filepath.Join(tg, "real.bin"), "the app's own")
	mkdir(t, filepath.Join(tg, "dir.bin"))
	write(t, e.path("users-target"), "u")
	symlink(t, e.path("users-target"), filepath.Join(tg, "users.bin"))
	symlink(t, filepath.Join(s, "real.bin"), filepath.Join(tg, "ours-other.bin"))
	// the ai-dock images linked folders and used resolved paths
	symlink(t, filepath.Join(s, "aidock-dir"), filepath.Join(tg, "aidock-dir"))
	symlink(t, s+"//equivalent.bin", filepath.Join(tg, "equivalent.bin"))
	// a file where a folder goes
	write(t, filepath.Join(tg, "blocked"), "file")

	m, err := e.once(e.options(mapping("m", tg)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tg, "real.bin")); string(b) != "the app's own" || linkOf(filepath.Join(tg, "real.bin")) != "" {
		t.Fatal("real file overwritten")
	}
	if fi, err := os.Lstat(filepath.Join(tg, "dir.bin")); err != nil || !fi.IsDir() {
		t.Fatal("real folder replaced")
	}
	wantLink(t, filepath.Join(tg, "users.bin"), e.path("users-target"), "u")
	wantLink(t, filepath.Join(tg, "ours-other.bin"), filepath.Join(s, "ours-other.bin"), "ours-other.bin")
	wantLink(t, filepath.Join(tg, "equivalent.bin"), s+"//equivalent.bin", "equivalent.bin")
	if fi, err := os.Lstat(filepath.Join(tg, "aidock-dir")); err != nil || !fi.IsDir() {
		t.Fatal("the old folder link was not replaced by a folder")
	}
	wantLink(t, filepath.Join(tg, "aidock-dir", "in.bin"), filepath.Join(s, "aidock-dir", "in.bin"), "in")
	if b, _ := os.ReadFile(filepath.Join(tg, "blocked")); string(b) != "file" {
		t.Fatal("file in the way of a folder was touched")
	}
	for _, p := range []string{"real.bin", "dir.bin", "users.bin", "blocked"} {
		if n := e.log.count(`"level":"warn"`, "conflict", `"path":"`+filepath.Join(tg, p)+`"`); n != 1 {
			t.Errorf("%s: %d conflict lines, want 1:\n%s", p, n, e.log)
		}
	}
	if st := m.Stats(); st.Conflicts != 4 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMonitor_BadTargets(t *testing.T) {
	e := newEnv(t)
	good := e.target("good")
	write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
	write(t, e.path("afile"), "")
	notYet := e.path("opt", "not-installed", "models")
	maps := []Mapping{
		{Storage: "m", Targets: []string{notYet, good}, File: "/etc/sm/a.toml", Entry: "[[map]] #1 (line 1)"},
		{Storage: "m2", Targets: []string{e.path("afile")}, File: "/etc/sm/a.toml", Entry: "[[map]] #2 (line 4)"},
		{Storage: "m3", Targets: []string{filepath.Join(e.storage, "inside")}, File: "/etc/sm/b.sh", Entry: "line 3"},
		{Storage: "m4", Targets: []string{e.path("afile", "models")}, File: "/etc/sm/b.sh", Entry: "line 4"},
		{Storage: "m5", Targets: []string{filepath.Join(e.storage, "not-there", "x")}, File: "/etc/sm/b.sh", Entry: "line 5"},
	}
	mkdir(t, filepath.Join(e.storage, "inside"))
	m, err := e.once(e.options(maps...))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	wantLink(t, filepath.Join(good, "f.bin"), filepath.Join(e.storage, "m", "f.bin"), "f")
	for _, want := range []string{
		`/etc/sm/a.toml: [[map]] #2 (line 4): bad target: target ` + e.path("afile") + ` is not a folder`,
		`/etc/sm/b.sh: line 3: bad target: target ` + filepath.Join(e.storage, "inside") + ` is inside the storage folder`,
		`/etc/sm/b.sh: line 4: bad target: target ` + e.path("afile", "models") + ` cannot be made: its parent ` + e.path("afile") + ` is not a folder`,
		// missing, inside the storage: never made there
		`/etc/sm/b.sh: line 5: bad target: target ` + filepath.Join(e.storage, "not-there", "x") + ` is inside the storage folder`,
	} {
		if e.log.count(`"level":"error"`, want) != 1 {
			t.Errorf("no error line with %q:\n%s", want, e.log)
		}
	}
	// an application not installed yet is normal life: a warning, not a
	// problem
	for _, want := range []string{
		`"file":"/etc/sm/a.toml","entry":"[[map]] #1 (line 1)","path":"` + notYet + `"`,
		`/etc/sm/a.toml: [[map]] #1 (line 1): target folder does not exist: ` + notYet + ` (storage folder \"m\"), nor its parent folder ` + filepath.Dir(notYet) + `; it is made and linked once ` + filepath.Dir(notYet) + ` appears (looked for every 30s)`,
	} {
		if e.log.count(`"level":"warn"`, want) != 1 {
			t.Errorf("no warn line with %q:\n%s", want, e.log)
		}
	}
	if len(m.problems) != 4 {
		t.Fatalf("problems %v", m.problems)
	}
	if exists(filepath.Dir(notYet)) || exists(filepath.Join(e.storage, "not-there")) {
		t.Fatal("a folder was made for a target whose parent is missing")
	}
}

func TestMonitor_DryRun(t *testing.T) {
	e := newEnv(t)
	tg := e.target("t")
	write(t, filepath.Join(e.image, "m", "bundled.bin"), "b")
	write(t, filepath.Join(e.storage, "m", "sub", "new\nline.bin"), "n")
	write(t, filepath.Join(tg, "real.bin"), "r")
	write(t, filepath.Join(e.storage, "m", "real.bin"), "r")
	symlink(t, filepath.Join(e.storage, "m", "old.bin"), filepath.Join(tg, "old.bin"))
	before := snapshot(t, e.dir)
	var plan bytes.Buffer
	opts := e.options(mapping("m", tg))
	opts.DryRun, opts.Plan = true, &plan
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, e.dir); after != before {
		t.Fatalf("the dry run changed the tree:\n%s\n---\n%s", before, after)
	}
	want := strings.Join([]string{
		"link " + filepath.Join(e.storage, "m", "bundled.bin") + " -> " + filepath.Join(e.image, "m", "bundled.bin"),
		"unlink " + filepath.Join(tg, "old.bin"),
		"link " + filepath.Join(tg, "bundled.bin") + " -> " + filepath.Join(e.storage, "m", "bundled.bin"),
		"conflict " + filepath.Join(tg, "real.bin") + ": a real file is in the way; it is left alone",
		"mkdir " + filepath.Join(tg, "sub"),
		`link "` + filepath.Join(tg, "sub") + `/new\nline.bin" -> "` + filepath.Join(e.storage, "m", "sub") + `/new\nline.bin"`,
	}, "\n") + "\n"
	if plan.String() != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", plan.String(), want)
	}

	t.Run("missing storage", func(t *testing.T) {
		e := newEnv(t)
		os.RemoveAll(filepath.Dir(e.storage))
		write(t, filepath.Join(e.image, "f.bin"), "f")
		var plan bytes.Buffer
		opts := e.options()
		opts.DryRun, opts.Plan = true, &plan
		m, _ := New(opts)
		if err := m.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := "mkdir " + filepath.Dir(e.storage) + "\nmkdir " + e.storage + "\nlink " + filepath.Join(e.storage, "f.bin") + " -> " + filepath.Join(e.image, "f.bin") + "\n"
		if plan.String() != want || exists(e.storage) {
			t.Fatalf("plan:\n%s\nwant:\n%s", plan.String(), want)
		}
	})
}

package storagemonitor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMonitor_MissingTarget: a mapped target folder that is missing is
// made when its parent is there (applications are installed without the
// model folders that mappings name), and the pass is then complete.
func TestMonitor_MissingTarget(t *testing.T) {
	t.Run("parent exists: made with its mode and linked", func(t *testing.T) {
		e := newEnv(t)
		app := e.target("App")
		if err := os.Chmod(app, 0o750); err != nil {
			t.Fatal(err)
		}
		tg := filepath.Join(app, "models")
		write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
		write(t, filepath.Join(e.storage, "m", "sub", "g.bin"), "g")
		m, err := e.once(e.options(mapping("m", tg)))
		if err != nil {
			t.Fatalf("Once: %v\n%s", err, e.log)
		}
		wantLink(t, filepath.Join(tg, "f.bin"), filepath.Join(e.storage, "m", "f.bin"), "f")
		wantLink(t, filepath.Join(tg, "sub", "g.bin"), filepath.Join(e.storage, "m", "sub", "g.bin"), "g")
		fi, err := os.Lstat(tg)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Fatalf("target %s: %v %v, want a folder with mode 0750 (its parent's)", tg, fi, err)
		}
		if e.log.count(`"level":"info"`, `"path":"`+tg+`"`, `"storage":"m"`, "made the missing target folder") != 1 {
			t.Fatalf("no info line saying the target was made:\n%s", e.log)
		}
		if len(m.problems) != 0 || m.Stats().Errors != 0 {
			t.Fatalf("problems %v, stats %+v", m.problems, m.Stats())
		}
	})

	t.Run("dry run: planned, not made", func(t *testing.T) {
		e := newEnv(t)
		tg := filepath.Join(e.target("App"), "models")
		write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
		before := snapshot(t, e.dir)
		var plan bytes.Buffer
		opts := e.options(mapping("m", tg))
		opts.DryRun, opts.Plan = true, &plan
		m, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Once(context.Background()); err != nil {
			t.Fatalf("Once: %v\n%s", err, e.log)
		}
		want := "mkdir " + tg + "\nlink " + filepath.Join(tg, "f.bin") + " -> " + filepath.Join(e.storage, "m", "f.bin") + "\n"
		if plan.String() != want {
			t.Fatalf("plan:\n%s\nwant:\n%s", plan.String(), want)
		}
		if snapshot(t, e.dir) != before {
			t.Fatal("the dry run changed files")
		}
		if e.log.count("the missing target folder would be made", `"path":"`+tg+`"`) != 1 {
			t.Fatalf("log:\n%s", e.log)
		}
	})
}

// TestMonitor_RetryPending: a target whose parent is missing waits,
// reported once however often it is looked for, and is made and linked
// when its parent appears.
func TestMonitor_RetryPending(t *testing.T) {
	e := newEnv(t)
	app := e.path("opt", "App")
	tg := filepath.Join(app, "models")
	write(t, filepath.Join(e.storage, "m", "f.bin"), "f")
	m, err := e.once(e.options(mapping("m", tg)))
	if err != nil {
		t.Fatalf("Once: %v (a target waiting for its application is not a problem)\n%s", err, e.log)
	}
	for range 3 {
		m.retryPending()
	}
	if n := e.log.count(`"level":"warn"`, "target folder does not exist: "+tg); n != 1 {
		t.Fatalf("%d warn lines for the waiting target, want 1:\n%s", n, e.log)
	}
	if exists(app) {
		t.Fatal("the missing parent was made")
	}

	mkdir(t, app)
	m.retryPending()
	m.drain()
	wantLink(t, filepath.Join(tg, "f.bin"), filepath.Join(e.storage, "m", "f.bin"), "f")
	for _, want := range []string{"made the missing target folder", "the target folder exists now; linking into it"} {
		if e.log.count(`"level":"info"`, `"path":"`+tg+`"`, want) != 1 {
			t.Errorf("no info line %q:\n%s", want, e.log)
		}
	}
	if len(m.pending) != 0 {
		t.Fatalf("still pending: %+v", m.pending)
	}
}

// TestMain_OnceConflictsAndMissingTargets: --once exits 0 when everything
// that could be linked was linked; conflicts and applications not
// installed yet are reported, not failures.
func TestMain_OnceConflictsAndMissingTargets(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "workspace")
	have := filepath.Join(dir, "opt", "have")
	made := filepath.Join(dir, "opt", "app", "models")
	later := filepath.Join(dir, "opt", "later", "models")
	mkdir(t, have)
	mkdir(t, filepath.Dir(made))
	write(t, filepath.Join(have, "f.bin"), "the application's own file")
	mappings := filepath.Join(dir, "etc", "mappings.toml")
	write(t, mappings, "[[map]]\nstorage = \"m\"\ntargets = [\""+have+"\", \""+made+"\", \""+later+"\"]\n")
	write(t, filepath.Join(ws, "storage", "m", "f.bin"), "f")
	write(t, filepath.Join(ws, "storage", "m", "g.bin"), "g")

	code, _, stderr := mainRun(context.Background(), ws, "--once", "--mappings", mappings, "--image-storage", "", "--wait-for", "")
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	s := filepath.Join(ws, "storage", "m")
	wantLink(t, filepath.Join(have, "g.bin"), filepath.Join(s, "g.bin"), "g")
	wantLink(t, filepath.Join(made, "f.bin"), filepath.Join(s, "f.bin"), "f")
	for _, want := range []string{
		" WRN conflict: a real file is in the way; it is left alone path=" + filepath.Join(have, "f.bin"),
		" INF made the missing target folder ",
		" WRN " + mappings + ": [[map]] #1 (line 1): target folder does not exist: " + later,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(have, "f.bin")); string(b) != "the application's own file" {
		t.Fatalf("the application's file was touched: %q", b)
	}
}

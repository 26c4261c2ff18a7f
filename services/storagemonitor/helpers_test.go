package storagemonitor

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/internal/testkit"
	"github.com/rs/zerolog"
)

// waitTimeout is how long tests wait for an outcome of the live watcher:
// generous, for a loaded 2-core machine; a passing test waits far less.
const waitTimeout = 20 * time.Second

// syncBuffer is a log sink that the monitor's goroutine writes while the
// test reads.
type syncBuffer struct{ testkit.Buffer }

// count returns how many log lines contain all of parts.
func (s *syncBuffer) count(parts ...string) int {
	n := 0
	for _, line := range strings.Split(s.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			n++
		}
	}
	return n
}

// env is a storage tree, an image storage and target folders in a temp
// folder.
type env struct {
	t       *testing.T
	dir     string
	storage string
	image   string
	log     *syncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, storage: filepath.Join(dir, "workspace", "storage"), image: filepath.Join(dir, "image"), log: &syncBuffer{}}
	mkdir(t, e.storage)
	return e
}

// path joins parts under the env's folder.
func (e *env) path(parts ...string) string {
	return filepath.Join(append([]string{e.dir}, parts...)...)
}

// target makes a target folder and returns its path.
func (e *env) target(name string) string {
	p := e.path("opt", name)
	mkdir(e.t, p)
	return p
}

func (e *env) logger() zerolog.Logger {
	return zerolog.New(e.log).Level(zerolog.DebugLevel)
}

func (e *env) options(maps ...Mapping) Options {
	return Options{Storage: e.storage, ImageStorage: e.image, Mappings: maps, Log: e.logger(), ProcRoot: e.path("proc")}
}

func mapping(storage string, targets ...string) Mapping {
	return Mapping{Storage: storage, Targets: targets, File: "test.toml", Entry: "[[map]] " + storage}
}

// once runs a start-up pass and returns the monitor and its error.
func (e *env) once(opts Options) (*Monitor, error) {
	e.t.Helper()
	m, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return m, m.Once(context.Background())
}

// run starts a watching monitor and waits for its start-up pass; the
// monitor is stopped when the test ends.
func (e *env) run(opts Options) *Monitor {
	e.t.Helper()
	m, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			e.t.Error("the monitor did not stop")
		}
	})
	e.waitLog("start-up pass done")
	return m
}

func (e *env) waitLog(parts ...string) {
	e.t.Helper()
	eventually(e.t, "log line with "+strings.Join(parts, ", "), func() bool { return e.log.count(parts...) > 0 })
}

// eventually waits for cond, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, dest, p string) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.Symlink(dest, p); err != nil {
		t.Fatal(err)
	}
}

// linkOf returns the target of the symlink at p, or "" when p is not a
// symlink.
func linkOf(p string) string {
	d, err := os.Readlink(p)
	if err != nil {
		return ""
	}
	return d
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// wantLink fails unless p is a symlink to dest whose content is content.
func wantLink(t *testing.T, p, dest, content string) {
	t.Helper()
	if got := linkOf(p); got != dest {
		t.Fatalf("%s: link to %q, want %q", p, got, dest)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if string(b) != content {
		t.Fatalf("%s: content %q, want %q", p, b, content)
	}
}

func wantGone(t *testing.T, p string) {
	t.Helper()
	if exists(p) {
		t.Fatalf("%s still exists (link to %q)", p, linkOf(p))
	}
}

// waitLink waits until p is a symlink to dest.
func waitLink(t *testing.T, p, dest string) {
	t.Helper()
	eventually(t, "link "+p+" -> "+dest, func() bool { return linkOf(p) == dest })
}

func waitGone(t *testing.T, p string) {
	t.Helper()
	eventually(t, p+" to go", func() bool { return !exists(p) })
}

// snapshot lists every path under root with its type and link target,
// to compare a tree before and after.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		lines = append(lines, p+" "+d.Type().String()+" "+linkOf(p))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

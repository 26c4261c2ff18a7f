package storagemonitor

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainRun runs Main with WORKSPACE set to workspace and returns its exit
// code, stdout and stderr.
func mainRun(ctx context.Context, workspace string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "WORKSPACE" {
			return workspace
		}
		return ""
	}
	code := Main(ctx, args, getenv, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain_Usage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--watch"}, "flag provided but not defined: -watch"},
		{"argument", []string{"/workspace"}, `unexpected argument "/workspace"`},
		{"log level", []string{"--log-level", "loud"}, `--log-level "loud"`},
		{"log format", []string{"--log-format", "xml"}, `--log-format "xml"`},
		{"rescan", []string{"--rescan-interval", "0s"}, "--rescan-interval 0s: must be positive"},
		{"empty storage", []string{"--storage", ""}, "--storage: give the storage folder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := mainRun(context.Background(), "/workspace", tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
	code, stdout, _ := mainRun(context.Background(), "", "--help")
	if code != 0 || !strings.Contains(stdout, "usage: storagemonitor [--storage DIR] [--image-storage DIR] [--mappings PATH]") {
		t.Fatalf("--help: %d %q", code, stdout)
	}
}

// cliEnv is a workspace with a mappings file mapping "m" to two targets.
func cliEnv(t *testing.T) (ws, mappings string, targets []string) {
	dir := t.TempDir()
	ws = filepath.Join(dir, "workspace")
	targets = []string{filepath.Join(dir, "opt", "a"), filepath.Join(dir, "opt", "b")}
	for _, tg := range targets {
		mkdir(t, tg)
	}
	mappings = filepath.Join(dir, "etc", "mappings.toml")
	write(t, mappings, "[[map]]\nstorage = \"m\"\ntargets = [\""+targets[0]+"\", \""+targets[1]+"\"]\n")
	write(t, filepath.Join(ws, "storage", "m", "f.bin"), "f")
	return ws, mappings, targets
}

func TestMain_Once(t *testing.T) {
	ws, mappings, targets := cliEnv(t)
	img := filepath.Join(filepath.Dir(ws), "image")
	write(t, filepath.Join(img, "m", "bundled.bin"), "b")
	code, stdout, stderr := mainRun(context.Background(), ws, "--once", "--mappings", mappings, "--image-storage", img, "--wait-for", "")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	s := filepath.Join(ws, "storage")
	for _, tg := range targets {
		wantLink(t, filepath.Join(tg, "f.bin"), filepath.Join(s, "m", "f.bin"), "f")
		wantLink(t, filepath.Join(tg, "bundled.bin"), filepath.Join(s, "m", "bundled.bin"), "b")
	}
	// console log lines, info by default: a summary, no per-link lines
	if !strings.Contains(stderr, " INF start-up pass done ") || !strings.Contains(stderr, "linked=4") || strings.Contains(stderr, "DBG") {
		t.Fatalf("log:\n%s", stderr)
	}

	code, _, stderr = mainRun(context.Background(), ws, "--once", "--mappings", mappings, "--image-storage", "", "--wait-for", "", "--log-level", "debug", "--log-format", "json")
	if code != 0 || !strings.Contains(stderr, `"level":"info"`) || !strings.Contains(stderr, `"linked":0`) {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
}

func TestMain_OnceProblems(t *testing.T) {
	ws, mappings, targets := cliEnv(t)
	d := filepath.Join(filepath.Dir(mappings), "mappings.d")
	write(t, filepath.Join(d, "10-bad.sh"), "declare -A storage_map\nstorage_map[\"x\"]=\"relative/target\"\nstorage_map[\"m\"]=\"/somewhere/else\"\n")
	code, _, stderr := mainRun(context.Background(), ws, "--once", "--mappings", mappings, "--wait-for", "")
	if code != ExitError {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{
		filepath.Join(d, "10-bad.sh") + `: line 2: bad target: "relative/target" is relative`,
		filepath.Join(d, "10-bad.sh") + `: line 3: conflicting mappings: storage folder "m" is mapped to /somewhere/else here and to ` + targets[0] + " " + targets[1] + " by " + mappings,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// the good mapping was still done
	wantLink(t, filepath.Join(targets[0], "f.bin"), filepath.Join(ws, "storage", "m", "f.bin"), "f")

	code, _, stderr = mainRun(context.Background(), ws, "--once", "--mappings", filepath.Join(ws, "nope.toml"), "--wait-for", "")
	if code != ExitError || !strings.Contains(stderr, filepath.Join(ws, "nope.toml")+": cannot read the mappings: ") {
		t.Fatalf("missing mappings: exit %d\n%s", code, stderr)
	}
}

func TestMain_DryRun(t *testing.T) {
	ws, mappings, targets := cliEnv(t)
	before := snapshot(t, filepath.Dir(ws))
	code, stdout, stderr := mainRun(context.Background(), ws, "--dry-run", "--mappings", mappings, "--image-storage", "", "--wait-for", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	s := filepath.Join(ws, "storage", "m", "f.bin")
	want := "link " + filepath.Join(targets[0], "f.bin") + " -> " + s + "\nlink " + filepath.Join(targets[1], "f.bin") + " -> " + s + "\n"
	if stdout != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", stdout, want)
	}
	if snapshot(t, filepath.Dir(ws)) != before {
		t.Fatal("the dry run changed files")
	}
}

func TestMain_WaitFor(t *testing.T) {
	ws, mappings, targets := cliEnv(t)
	marker := filepath.Join(filepath.Dir(ws), "run", "workspace_sync")
	write(t, marker, "")
	log := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		getenv := func(k string) string { return map[string]string{"WORKSPACE": ws}[k] }
		done <- Main(context.Background(), []string{"--once", "--mappings", mappings, "--image-storage", "", "--wait-for", marker}, getenv, &bytes.Buffer{}, log)
	}()
	eventually(t, "the wait log line", func() bool {
		return strings.Contains(log.String(), "waiting for the workspace sync to finish (the marker to be removed) path="+marker)
	})
	if exists(filepath.Join(targets[0], "f.bin")) {
		t.Fatal("linked before the marker was removed")
	}
	os.Remove(marker)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, log)
		}
	case <-time.After(waitTimeout):
		t.Fatal("did not start after the marker was removed")
	}
	wantLink(t, filepath.Join(targets[0], "f.bin"), filepath.Join(ws, "storage", "m", "f.bin"), "f")
	if !strings.Contains(log.String(), "the marker is gone; starting") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestMain_Watch(t *testing.T) {
	ws, mappings, targets := cliEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := mainRun(ctx, ws, "--mappings", mappings, "--image-storage", "", "--wait-for", "")
		done <- code
	}()
	s := filepath.Join(ws, "storage", "m")
	waitLink(t, filepath.Join(targets[1], "f.bin"), filepath.Join(s, "f.bin"))
	write(t, filepath.Join(s, "g.bin"), "g")
	waitLink(t, filepath.Join(targets[1], "g.bin"), filepath.Join(s, "g.bin"))
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(waitTimeout):
		t.Fatal("did not stop")
	}
}

// TestCommand builds the command and runs it as the images do: --once
// from a provisioning script, and supervised, stopped with SIGTERM.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "storagemonitor")
	build := exec.Command("go", "build", "-o", bin, "./cmd/storagemonitor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ws, mappings, targets := cliEnv(t)
	env := append(os.Environ(), "WORKSPACE="+ws)

	once := exec.Command(bin, "--once", "--mappings", mappings, "--image-storage", "", "--wait-for", "")
	once.Env = env
	if out, err := once.CombinedOutput(); err != nil {
		t.Fatalf("--once: %v\n%s", err, out)
	}
	wantLink(t, filepath.Join(targets[0], "f.bin"), filepath.Join(ws, "storage", "m", "f.bin"), "f")

	bad := exec.Command(bin, "--once", "--mappings", filepath.Join(ws, "missing.toml"), "--wait-for", "")
	bad.Env = env
	if err := bad.Run(); err == nil || bad.ProcessState.ExitCode() != ExitError {
		t.Fatalf("missing mappings: %v", err)
	}

	log := &syncBuffer{}
	watch := exec.Command(bin, "--mappings", mappings, "--image-storage", "", "--wait-for", "")
	watch.Env, watch.Stderr = env, log
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "start-up", func() bool { return strings.Contains(log.String(), "start-up pass done") })
	write(t, filepath.Join(ws, "storage", "m", "g.bin"), "g")
	waitLink(t, filepath.Join(targets[0], "g.bin"), filepath.Join(ws, "storage", "m", "g.bin"))
	watch.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- watch.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(waitTimeout):
		watch.Process.Kill()
		t.Fatal("did not stop on SIGTERM")
	}
}

package logtail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/logfile"
)

// waitTimeout is how long a test waits for an outcome; generous, since
// the machines that run the tests are small and shared.
const waitTimeout = 60 * time.Second

// output is a writer whose content tests wait on.
type syncBuffer struct {
	mu   sync.Mutex
	cond *sync.Cond
	b    strings.Builder
}

func newSyncBuffer() *syncBuffer {
	s := &syncBuffer{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	s.cond.Broadcast()
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the content contains want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	late := false
	timer := time.AfterFunc(waitTimeout, func() {
		s.mu.Lock()
		late = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !strings.Contains(s.b.String(), want) {
		if late {
			t.Fatalf("timed out waiting for %q in the output:\n%s", want, s.b.String())
		}
		s.cond.Wait()
	}
}

// runLogtail runs Run in a goroutine; stop cancels it and waits for it.
func runLogtail(t *testing.T, cfg Config) (stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	stdout, stderr = newSyncBuffer(), newSyncBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, stdout, stderr) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stdout, stderr, stop
}

func testConfig(dir string, paths ...string) Config {
	return Config{
		Paths:       paths,
		Lines:       DefaultLines,
		Out:         filepath.Join(dir, "logtail.log"),
		OutMaxBytes: DefaultOutMaxBytes,
		FlushAfter:  time.Minute, // tests that want partial lines set it
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRun_Stream(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	appendTo(t, a, "a1\na2\na3\na4\n")
	appendTo(t, b, "b1\nb2\n")
	appendTo(t, filepath.Join(dir, "other.txt"), "not followed\n")
	cfg := testConfig(dir, filepath.Join(dir, "*.log"))
	cfg.Lines = 2
	stdout, stderr, stop := runLogtail(t, cfg)

	want := "==> " + a + " <==\na3\na4\n\n==> " + b + " <==\nb1\nb2\n"
	stdout.waitFor(t, want)
	appendTo(t, a, "a5\n")
	want += "\n==> " + a + " <==\na5\n"
	stdout.waitFor(t, want)
	appendTo(t, a, "a6\n")
	want += "a6\n" // same source: no header
	stdout.waitFor(t, want)
	appendTo(t, c, "c1\n") // appears mid-run: read from its start
	want += "\n==> " + c + " <==\nc1\n"
	stdout.waitFor(t, want)
	if err := os.Truncate(a, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, a, "again\n")
	want += "\n==> " + a + " (truncated) <==\nagain\n"
	stdout.waitFor(t, want)
	stop()

	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, cfg.Out); got != want {
		t.Errorf("%s:\n%s\nwant the same as stdout:\n%s", cfg.Out, got, want)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr: %s", s)
	}
}

func TestRun_DefaultPaths(t *testing.T) {
	cfg := Config{Paths: DefaultPaths, Lines: 1, Out: "", FlushAfter: time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Following them must start (missing folders are waited for).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, cfg, newSyncBuffer(), newSyncBuffer()); err != nil {
		t.Errorf("Run with the default paths: %v", err)
	}
}

func TestRun_RedactsSecretSplitAcrossWrites(t *testing.T) {
	dir := t.TempDir()
	x, marker := filepath.Join(dir, "x.log"), filepath.Join(dir, "marker.log")
	appendTo(t, x, "")
	cfg := testConfig(dir, x, marker)
	cfg.Secrets = []string{"s3cr3t-value"}
	stdout, _, stop := runLogtail(t, cfg)

	appendTo(t, x, "login with s3cr3")
	// Events of one folder come in order: once the marker shows, the first
	// half has been read (and held: it is not a line yet).
	appendTo(t, marker, "m1\n")
	stdout.waitFor(t, "m1\n")
	appendTo(t, x, "t-value done\n")
	stdout.waitFor(t, "login with *** done\n")
	stop()
	for _, out := range []string{stdout.String(), readFile(t, cfg.Out)} {
		if strings.Contains(out, "s3cr3") || strings.Contains(out, "t-value") {
			t.Errorf("secret shows in:\n%s", out)
		}
	}
}

func TestRun_RedactsAcrossPartialFlush(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.log")
	appendTo(t, x, "")
	cfg := testConfig(dir, x)
	cfg.Secrets = []string{"password123"}
	cfg.FlushAfter = 10 * time.Millisecond
	stdout, _, stop := runLogtail(t, cfg)

	// The unfinished line is flushed after FlushAfter, but not its end,
	// which may be the beginning of the secret.
	appendTo(t, x, "waiting for pass")
	stdout.waitFor(t, "waiting for \n")
	appendTo(t, x, "word123 to come\n")
	stdout.waitFor(t, "*** to come\n")
	// An unfinished line with no secret is flushed whole.
	appendTo(t, x, "50%")
	stdout.waitFor(t, "50%\n")
	// At stop, an unfinished end that could begin a secret is masked.
	appendTo(t, x, "\nbye passw")
	stdout.waitFor(t, "bye \n")
	stop()
	want := "==> " + x + " <==\nwaiting for \n*** to come\n50%\n\nbye \n***\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", got, want)
	}
	if got := readFile(t, cfg.Out); got != want {
		t.Errorf("out file:\n%q\nwant:\n%q", got, want)
	}
}

func TestRun_OutRotatesWithOneBackup(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.log")
	var all strings.Builder
	for i := range 200 {
		fmt.Fprintf(&all, "line %03d %s\n", i, strings.Repeat("x", 40))
	}
	appendTo(t, x, "")
	cfg := testConfig(dir, x)
	cfg.OutMaxBytes = 2000
	stdout, _, stop := runLogtail(t, cfg)
	appendTo(t, x, all.String())
	stdout.waitFor(t, "line 199")
	stop()

	cur, backup := readFile(t, cfg.Out), readFile(t, cfg.Out+".1")
	if _, err := os.Stat(cfg.Out + ".2"); err == nil {
		t.Errorf("%s.2 exists; one backup only", cfg.Out)
	}
	for name, s := range map[string]string{cfg.Out: cur, cfg.Out + ".1": backup} {
		if int64(len(s)) > cfg.OutMaxBytes+100 {
			t.Errorf("%s is %d bytes, over the cap of %d", name, len(s), cfg.OutMaxBytes)
		}
		if s != "" && !strings.HasSuffix(s, "\n") {
			t.Errorf("%s ends inside a line", name)
		}
	}
	if !strings.HasSuffix(stdout.String(), backup+cur) {
		t.Errorf("backup and current file are not the end of the stream:\n%s%s", backup, cur)
	}
}

func TestRun_NeverFollowsItsOwnOutput(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.log")
	appendTo(t, x, "")
	cfg := testConfig(dir, filepath.Join(dir, "*.log*"))
	cfg.OutMaxBytes = 200 // logtail.log.1 appears too
	stdout, _, stop := runLogtail(t, cfg)
	for i := range 20 {
		appendTo(t, x, fmt.Sprintf("line %d %s\n", i, strings.Repeat("y", 30)))
	}
	stdout.waitFor(t, "line 19 ")
	stop()
	if out := stdout.String(); strings.Contains(out, "logtail.log") {
		t.Errorf("logtail followed its own output:\n%s", out)
	}
}

func TestRun_UnwritableOutGoesOn(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.log")
	appendTo(t, x, "")
	cfg := testConfig(dir, x)
	cfg.Out = filepath.Join(dir, "missing", "logtail.log")
	stdout, stderr, _ := runLogtail(t, cfg)
	appendTo(t, x, "still here\n")
	stdout.waitFor(t, "still here\n")
	stderr.waitFor(t, "going on without it")
}

func TestView(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logtail.log")
	w, err := logfile.Open(path, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fmt.Fprintf(w, "old 1\nold 2\nold 3\n")

	stdout := newSyncBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- View(ctx, path, 2, stdout, newSyncBuffer()) }()
	stdout.waitFor(t, "old 2\nold 3\n")
	var want strings.Builder
	want.WriteString("old 2\nold 3\n")
	for i := range 100 { // several rotations of the file
		line := fmt.Sprintf("new %02d %s\n", i, strings.Repeat("z", 20))
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		// A file rotated away twice before anyone looks at it is lost
		// to whoever follows by name: let the viewer see each line.
		stdout.waitFor(t, line)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("View: %v", err)
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("the file did not rotate: %v", err)
	}
	if got := stdout.String(); got != want.String() {
		t.Errorf("viewer printed:\n%s\nwant:\n%s", got, want.String())
	}
}

func TestMain_Help(t *testing.T) {
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	if err := Main(t.Context(), []string{"--help"}, func(string) (string, bool) { return "", false }, stdout, stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "usage: logtail [--lines N]") || !strings.Contains(stdout.String(), "-out-max-bytes") {
		t.Errorf("help:\n%s", stdout.String())
	}
}

package e2e_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/testbin"
)

// python is Debian's interpreter, the one python3-pytest, python3-pexpect
// and python3-supervisor (the suite and its fixtures) are installed for.
const python = "/usr/bin/python3"

// suite is Python supervisor's own end-to-end test module, as Debian's
// python3-supervisor installs it.
const suite = "/usr/lib/python3/dist-packages/supervisor/tests/test_end_to_end.py"

// minPassed is how many of the suite's tests must pass in each pairing
// (Python's own pair passes 25 of 26 here: test_issue_565 runs a fixture,
// hello.sh, that Debian does not ship).
const minPassed = 25

// runTimeout bounds one run of the suite. Each of its expectations has
// its own 30–60 s timeout, so a run that fails everything still ends.
const runTimeout = 9 * time.Minute

// pairing is which daemon and which control program a run uses: a
// binary of ours, or "" for Python's (the suite's own spawn).
type pairing struct {
	name        string
	supervisord string
	ctl         string
}

// TestPythonEndToEnd runs supervisor's end-to-end suite four ways: Python's
// daemon and control program (the baseline), ours with Python's
// supervisorctl, Python's supervisord with ours, and ours with ours. Each
// pairing of ours must pass at least minPassed tests, and any test it fails
// must fail with Python's own pair too.
func TestPythonEndToEnd(t *testing.T) {
	requireSuite(t)
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	for _, name := range []string{"supervisord", "supervisorctl"} {
		if _, err := testbin.Build(bin, name, "github.com/gpudesk/runtime/supervisor/cmd/"+name, raceEnabled); err != nil {
			t.Fatal(err)
		}
	}
	plugin, err := filepath.Abs("testdata/gpudesk_e2e.py")
	if err != nil {
		t.Fatal(err)
	}
	pairings := []pairing{
		{name: "python-daemon+python-ctl"},
		{name: "our-daemon+python-ctl", supervisord: "supervisord"},
		{name: "python-daemon+our-ctl", ctl: "supervisorctl"},
		{name: "our-daemon+our-ctl", supervisord: "supervisord", ctl: "supervisorctl"},
	}
	results := make([]*runResult, len(pairings))
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range pairings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runSuite(t, p, bin, plugin)
		}()
	}
	wg.Wait()
	t.Logf("four runs of the suite in parallel: %s", time.Since(start).Round(time.Second))

	baseline := results[0]
	if baseline.err != nil {
		t.Fatalf("%s: %v", pairings[0].name, baseline.err)
	}
	for i, p := range pairings {
		r := results[i]
		if r.err != nil {
			t.Errorf("%s: %v", p.name, r.err)
			continue
		}
		failed := r.failed()
		t.Logf("%s: %d of %d passed (%s); failed: %v", p.name, r.passed(), len(r.outcomes), r.elapsed.Round(time.Second), failed)
		if r.passed() < minPassed {
			t.Errorf("%s: only %d of %d tests passed (want at least %d); failed: %v\n%s", p.name, r.passed(), len(r.outcomes), minPassed, failed, r.tail())
		}
		for _, name := range failed {
			if i > 0 && baseline.outcomes[name] == "passed" {
				t.Errorf("%s: %s fails, but passes with Python's daemon and supervisorctl:\n%s", p.name, name, r.failure[name])
			}
		}
	}
}

// requireSuite fails (never skips) when something the suite needs is
// missing, saying what to install.
func requireSuite(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(suite); err != nil {
		t.Fatalf("Python supervisor's end-to-end suite is missing (%v): scripts/test installs it (apt-get install supervisor)", err)
	}
	out, err := exec.Command(python, "-c", "import pytest, pexpect, pkg_resources, supervisor.tests.test_end_to_end").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import what the suite needs (%v): %s\nscripts/test installs it (apt-get install python3-pytest python3-pexpect python3-pkg-resources)", python, err, out)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare is missing (each run gets its own /tmp with it): scripts/test installs it (apt-get install util-linux)")
	}
}

type runResult struct {
	outcomes map[string]string // test name → passed, failed, error or skipped
	failure  map[string]string // test name → pytest's report
	output   string
	elapsed  time.Duration
	err      error
}

func (r *runResult) passed() int {
	n := 0
	for _, o := range r.outcomes {
		if o == "passed" {
			n++
		}
	}
	return n
}

func (r *runResult) failed() []string {
	var out []string
	for name, o := range r.outcomes {
		if o != "passed" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (r *runResult) tail() string {
	const max = 4000
	if len(r.output) > max {
		return "…" + r.output[len(r.output)-max:]
	}
	return r.output
}

// runSuite runs the suite once for p. The fixtures use fixed paths in /tmp
// (sockets, logs, pidfiles), so each run gets a private /tmp (a folder of
// its own bind-mounted there in a new mount namespace) holding what it
// needs: our binaries, the plug-in, the report. A new pid namespace ends
// every process a run leaves behind when it ends.
func runSuite(t *testing.T, p pairing, bin, plugin string) *runResult {
	res := &runResult{}
	root := t.TempDir()
	private := filepath.Join(root, "tmp")
	for _, d := range []string{filepath.Join(private, "bin"), filepath.Join(private, "plugin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			res.err = err
			return res
		}
	}
	os.Chmod(private, 0o1777)
	for _, name := range []string{"supervisord", "supervisorctl"} {
		if err := linkOrCopy(filepath.Join(bin, name), filepath.Join(private, "bin", name)); err != nil {
			res.err = err
			return res
		}
	}
	if err := linkOrCopy(plugin, filepath.Join(private, "plugin", "gpudesk_e2e.py")); err != nil {
		res.err = err
		return res
	}

	// Inside the namespace, private is /tmp.
	script := `mount --bind "$1" /tmp && cd /tmp && exec "$2" -m pytest -p no:cacheprovider -p gpudesk_e2e -q -rfE --junitxml=/tmp/report.xml "$3"`
	args := []string{"--fork", "--pid", "--kill-child", "--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append([]string{"--map-root-user"}, args...)
	}
	args = append(args, "/bin/sh", "-c", script, "sh", private, python, suite)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", args...)
	env := []string{"END_TO_END=1", "PYTHONPATH=/tmp/plugin", "PYTHONDONTWRITEBYTECODE=1"}
	if p.supervisord != "" {
		env = append(env, "GPUDESK_E2E_SUPERVISORD=/tmp/bin/"+p.supervisord)
	}
	if p.ctl != "" {
		env = append(env, "GPUDESK_E2E_SUPERVISORCTL=/tmp/bin/"+p.ctl)
	}
	cmd.Env = append(cleanEnv(), env...)
	// A file, not a pipe: Wait must not wait for a child left holding it.
	out, err := os.Create(filepath.Join(root, "output.txt"))
	if err != nil {
		res.err = err
		return res
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	runErr := cmd.Run()
	res.elapsed = time.Since(start)
	data, _ := os.ReadFile(out.Name())
	res.output = string(data)
	report, err := os.ReadFile(filepath.Join(private, "report.xml"))
	if err != nil {
		res.err = fmt.Errorf("pytest wrote no report (%v; run: %v):\n%s", err, runErr, res.tail())
		return res
	}
	res.outcomes, res.failure, err = parseJUnit(report)
	if err != nil {
		res.err = err
	}
	return res
}

// cleanEnv is this process's environment without what would change how
// the suite or the daemons run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PYTHONPATH", name == "END_TO_END", name == "TMPDIR", strings.HasPrefix(name, "GPUDESK_E2E_"),
			strings.HasPrefix(name, "SUPERVISOR_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

func linkOrCopy(from, to string) error {
	if err := os.Link(from, to); err == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	info, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, info.Mode().Perm())
}

// junitSuite is the part of pytest's --junitxml report read here.
type junitSuite struct {
	Cases []struct {
		Name    string `xml:"name,attr"`
		Failure *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Error *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"error"`
		Skipped *struct{} `xml:"skipped"`
	} `xml:"testsuite>testcase"`
}

// parseJUnit returns each test's outcome and, for those that did not
// pass, pytest's report. A test reported twice (a failing teardown after a
// pass) keeps its worst outcome.
func parseJUnit(report []byte) (map[string]string, map[string]string, error) {
	var s junitSuite
	if err := xml.Unmarshal(report, &s); err != nil {
		return nil, nil, fmt.Errorf("reading pytest's report: %w", err)
	}
	if len(s.Cases) == 0 {
		return nil, nil, fmt.Errorf("pytest's report lists no tests")
	}
	outcomes, failures := map[string]string{}, map[string]string{}
	for _, c := range s.Cases {
		o, text := "passed", ""
		switch {
		case c.Failure != nil:
			o, text = "failed", c.Failure.Message+"\n"+c.Failure.Text
		case c.Error != nil:
			o, text = "error", c.Error.Message+"\n"+c.Error.Text
		case c.Skipped != nil:
			o = "skipped"
		}
		if prev, ok := outcomes[c.Name]; ok && prev != "passed" {
			continue
		}
		outcomes[c.Name] = o
		if text != "" {
			failures[c.Name] = lastLines(text, 40)
		}
	}
	return outcomes, failures, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

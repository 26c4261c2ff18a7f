package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Supervisord(append([]string{"/usr/bin/supervisord"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func writeConf(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

const goodConf = `[supervisord]
logfile=/tmp/sd-test.log
[program:web]
command=/bin/sleep 10
numprocs=2
process_name=%(program_name)s_%(process_num)d
[program:db]
command=/bin/sleep 10
`

func TestSupervisord_check(t *testing.T) {
	conf := writeConf(t, goodConf)
	for _, args := range [][]string{{"-c", conf, "--check"}, {"--check", "-c", conf}, {"--configuration=" + conf, "--check"}} {
		out, errOut, code := run(args...)
		if code != 0 || out != conf+": ok (3 programs, 2 groups)\n" || errOut != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestSupervisord_checkReportsEveryError(t *testing.T) {
	conf := writeConf(t, `[supervisord]
loglevel=loud

[program:a]
command=/bin/true
stopsignal=TERMINATE
autorestart=sometimes
`)
	out, errOut, code := run("-c", conf, "--check")
	if code != 2 || out != "" {
		t.Fatalf("code %d stdout %q", code, out)
	}
	want := []string{
		conf + ":2: [supervisord] loglevel = 'loud': bad logging level name 'loud' (use one of critical, error, warn, info, debug, trace, blather)",
		conf + ":6: [program:a] stopsignal = 'TERMINATE': value 'TERMINATE' is not a valid signal name (",
		conf + ":7: [program:a] autorestart = 'sometimes': invalid 'autorestart' value 'sometimes' (use true, false or unexpected)",
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got  %s\n want %s", i+1, lines[i], w)
		}
	}
}

func TestSupervisord_printConfig(t *testing.T) {
	conf := writeConf(t, goodConf)
	out, _, code := run("-c", conf, "--print-config", "-e", "debug", "--nodaemon")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	var doc struct {
		Supervisord map[string]any
		Groups      []struct {
			Name      string
			Processes []struct{ Name, Command string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Supervisord["loglevel"] != "debug" || doc.Supervisord["nodaemon"] != true {
		t.Errorf("flags did not override the file: %v", doc.Supervisord)
	}
	if len(doc.Groups) != 2 || doc.Groups[0].Name != "db" || len(doc.Groups[1].Processes) != 2 ||
		doc.Groups[1].Processes[1].Name != "web_1" || doc.Groups[1].Processes[1].Command != "/bin/sleep 10" {
		t.Errorf("groups: %+v", doc.Groups)
	}
}

// TestSupervisord_usageErrorsMatchPython runs invocations that Python's
// supervisord rejects before starting anything, and compares the output.
func TestSupervisord_usageErrorsMatchPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	conf := writeConf(t, goodConf)
	bad := writeConf(t, "[supervisord]\nminfds=many\n")
	cases := [][]string{
		{"-c", "/nonexistent/supervisord.conf"},
		{"-x"},
		{"--bogus"},
		{"-c", conf, "-e", "loud"},
		{"-c", conf, "--logfile_max=10M"},
		{"-c", conf, "-m", "999"},
		{"-c", conf, "-u", "nosuchuser"},
		{"-c", conf, "-q", "/nonexistent"},
		{"-c", conf, "positional"},
		{"-c", conf, "-n", "-n"},
		{"-c", conf, "-c", conf},
		{"-c", conf, "-a"},
		{"-c", bad, "-e", "loud"},
		{"--conf", "/nonexistent", "--nodaemon=1"},
		// Help is Python's docstring, byte for byte, on stdout, exit 0;
		// options before it are still checked first.
		{"-h"},
		{"--help"},
		{"--he"},
		{"-?"},
		{"-c", conf, "-h", "-e", "loud"},
		{"-e", "loud", "-h"},
	}
	for _, args := range cases {
		cmd := exec.Command("/usr/bin/supervisord", args...)
		var pyOut, pyErr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &pyOut, &pyErr
		err := cmd.Run()
		pyCode := 0
		if ee, ok := err.(*exec.ExitError); ok {
			pyCode = ee.ExitCode()
		}
		out, errOut, code := run(args...)
		if code != pyCode || out != pyOut.String() || errOut != pyErr.String() {
			t.Errorf("%v:\n ours   %d %q %q\n Python %d %q %q", args, code, out, errOut, pyCode, pyOut.String(), pyErr.String())
		}
	}
}

func TestSupervisord_version(t *testing.T) {
	out, _, code := run("-v")
	if code != 0 || out != "4.2.5\n" {
		t.Errorf("code %d out %q", code, out)
	}
}

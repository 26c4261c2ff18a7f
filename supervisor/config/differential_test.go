package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// corpusEnv is the environment both loaders see (besides PATH and HOME).
var corpusEnv = []string{
	"WORKSPACE=/workspace",
	"CF_QUICK_TUNNELS_COUNT=2",
	"TEST_NAME=alpha",
	"TEST_NUM=3",
	"TEST_SPACE=has space",
	"TEST_PCT=100%",
}

// pythonSupervisor is Debian's interpreter with supervisor installed.
const pythonSupervisor = "/usr/bin/python3"

// runOracle loads every file with Python supervisor 4.2.5 and returns its
// documents by file name.
func runOracle(t *testing.T, dir string, env []string, files []string) map[string]map[string]any {
	t.Helper()
	if err := exec.Command(pythonSupervisor, "-c", "import supervisor.options").Run(); err != nil {
		t.Fatalf("Python supervisor is not installed (scripts/test installs it: apt-get install -y supervisor): %v", err)
	}
	oracle, err := filepath.Abs("testdata/oracle.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonSupervisor, append([]string{oracle}, files...)...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	docs := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("oracle output: %v: %s", err, sc.Text())
		}
		docs[d["file"].(string)] = d
	}
	if len(docs) != len(files) {
		t.Fatalf("oracle answered for %d of %d files", len(docs), len(files))
	}
	return docs
}

// corpusHost is %(host_node_name)s for both loaders, so the recorded
// answers hold on any machine.
const corpusHost = "corpus-host"

// goldenFile holds Python's answers for the corpus, one JSON document per
// file and line, with the corpus folder written as corpusMark: what the
// test expects, readable without Python. -update records them again.
const (
	goldenFile = "testdata/corpus.python.jsonl"
	corpusMark = "@CORPUS@"
)

var update = flag.Bool("update", false, "record Python's answers for the config corpus again (needs Python supervisor)")

// expectedAnswers returns Python's recorded answers for files, after
// checking them against Python itself: with -update they are recorded
// again; otherwise a live answer that differs from the record fails the
// test, so the record can never drift from what Python says.
func expectedAnswers(t *testing.T, dir string, env []string, files []string) map[string]map[string]any {
	t.Helper()
	live := runOracle(t, dir, env, files)
	if *update {
		var buf bytes.Buffer
		for _, f := range files {
			b, err := json.Marshal(live[f])
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(bytes.ReplaceAll(b, []byte(dir), []byte(corpusMark)))
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(goldenFile, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded Python's answers for %d files in %s", len(files), goldenFile)
	}
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("reading the recorded answers (go test ./supervisor/config -run Differential -update writes them): %v", err)
	}
	golden := map[string]map[string]any{}
	for i, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var d map[string]any
		line = bytes.ReplaceAll(line, []byte(corpusMark), []byte(dir))
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("%s:%d: %v", goldenFile, i+1, err)
		}
		golden[d["file"].(string)] = d
	}
	for _, f := range files {
		want, ok := golden[f]
		if !ok {
			t.Errorf("%s has no answer for %s; record it with -update", goldenFile, f)
			continue
		}
		if diffs := diffJSON("", want, live[f]); len(diffs) > 0 {
			t.Errorf("Python's answer for %s differs from %s (record it again with -update); Python is the record, ours the live answer:\n%s", f, goldenFile, strings.Join(diffs, "\n"))
		}
	}
	if len(golden) != len(files) {
		t.Errorf("%s has %d answers for %d corpus files; record them again with -update", goldenFile, len(golden), len(files))
	}
	if t.Failed() {
		t.FailNow()
	}
	return golden
}

// pythonCore reduces a Python error message to the part ours must contain:
// without the section/file suffix, the list of available names, and with
// the garbled forms Python produces replaced by their intent.
var (
	sectionSuffix  = regexp.MustCompile(` in section '[^']*' \(file: '[^']*'\)$`)
	availableNames = regexp.MustCompile(`(?s) Available names: .*$`)
	tupleMessage   = regexp.MustCompile(`^\('(.*)', '(.*)'\)(.*)$`)
)

func pythonCore(msg string) string {
	msg = sectionSuffix.ReplaceAllString(msg, "")
	msg = availableNames.ReplaceAllString(msg, "")
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i] // parse errors: our message has one line per bad line
	}
	msg = strings.TrimSuffix(msg, ".")
	// Python builds some messages as ValueError(fmt, arg), which prints as
	// a tuple; compare with the message it meant.
	if m := tupleMessage.FindStringSubmatch(msg); m != nil {
		msg = strings.Replace(m[1], "%s", m[2], 1) + m[3]
	}
	switch {
	case strings.HasPrefix(msg, "Source contains parsing errors"):
		return "Source contains parsing errors"
	case strings.HasPrefix(msg, "File contains no section headers"):
		return "File contains no section headers"
	}
	return msg
}

// deliberate lists corpus files where we differ from Python on purpose,
// with the reason (also listed in the README).
var deliberate = map[string]string{
	"bad_readiness_unknown_name.conf": "depends_on is an extension Python ignores; ours rejects a name that matches nothing",
	"bad_readiness_cycle.conf":        "depends_on is an extension Python ignores; ours rejects a dependency cycle",
	"bad_readiness_check.conf":        "ready is an extension Python ignores; ours rejects a check that does not parse",
	"bad_readiness_timeout.conf":      "ready_timeout is an extension Python ignores; ours rejects a timeout that is not positive",
}

// messageExceptions are files whose rejection message differs in wording
// from Python's, with the reason.
var messageExceptions = map[string]string{
	"bad_group_unknown_second_member.conf": "Python names the previous member's [program:x] section instead of the [group:x] (a variable reused in its loop); we name the group",
}

func TestLoad_differentialAgainstPython(t *testing.T) {
	dir, err := filepath.Abs("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Fatalf("corpus has %d files, want at least 60", len(files))
	}
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	sort.Strings(files)
	env := append([]string{"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", "ORACLE_HOSTNAME=" + corpusHost}, corpusEnv...)
	py := expectedAnswers(t, dir, env, files)
	t.Chdir(dir)

	accepted := 0
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			want := py[f]
			cfg, err := LoadWith(f, Options{Environ: env, Hostname: corpusHost})
			pyOK := want["ok"] == true
			if reason, ok := deliberate[f]; ok {
				t.Logf("deliberate difference: %s", reason)
				if (err == nil) == pyOK {
					t.Errorf("listed as a deliberate difference but we agree with Python now; update the list")
				}
				return
			}
			if !pyOK {
				if err == nil {
					t.Fatalf("Python rejects, we accept.\nPython: %v", want["error"])
				}
				if want["crash"] == true {
					// Python dies with a traceback (e.g. on invalid UTF-8);
					// rejecting with a message is all that can match.
					t.Logf("Python crashes: %v; ours: %v", want["error"], err)
					return
				}
				core := pythonCore(want["error"].(string))
				if _, ok := messageExceptions[f]; !ok && !strings.Contains(err.Error(), core) {
					t.Errorf("our message does not contain Python's.\nPython: %s\nours:   %s", core, err)
				}
				// Python's exact words for one of our problems (what
				// supervisorctl reread shows), Available names aside.
				if _, ok := messageExceptions[f]; ok || tupleMessage.MatchString(want["error"].(string)) {
					return
				}
				exact := availableNames.ReplaceAllString(want["error"].(string), "")
				var es Errors
				errors.As(err, &es)
				found := false
				for _, e := range es {
					if availableNames.ReplaceAllString(e.PythonMessage(), "") == exact || strings.HasPrefix(exact, "Source contains") || strings.HasPrefix(exact, "File contains") || strings.HasPrefix(exact, "'utf-8' codec") {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem reads as Python's.\nPython: %s\nours:   %v", exact, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Python accepts, we reject:\n%v", err)
			}
			accepted++
			var got map[string]any
			b, _ := json.Marshal(cfg.Effective())
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			// supervisorctl's own rejection of [supervisorctl] is a warning
			// for supervisord, which ignores that section.
			if ctl, ok := want["supervisorctl"].(map[string]any); ok && ctl["error"] != nil {
				core := pythonCore(ctl["error"].(string))
				if got["supervisorctl"] != nil || !strings.Contains(fmt.Sprint(got["warnings"]), core) {
					t.Errorf("supervisorctl section: Python says %q; ours: %v, warnings %v", core, got["supervisorctl"], got["warnings"])
				}
				delete(want, "supervisorctl")
				delete(got, "supervisorctl")
			}
			// Extensions Python does not know.
			if sup, ok := got["supervisord"].(map[string]any); ok {
				delete(sup, "watch_config")
				delete(sup, "shutdown_budget")
			}
			for _, g := range got["groups"].([]any) {
				for _, p := range g.(map[string]any)["processes"].([]any) {
					for _, k := range ReadinessOptions {
						delete(p.(map[string]any), k)
					}
				}
			}
			for _, k := range []string{"warnings", "file", "crash"} {
				delete(got, k)
				delete(want, k)
			}
			if diffs := diffJSON("", want, got); len(diffs) > 0 {
				t.Errorf("effective config differs from Python's:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
	t.Logf("%d files, %d accepted by both", len(files), accepted)
}

// diffJSON lists the paths where two decoded JSON values differ.
func diffJSON(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: Python %v, ours %v", path, want, got)}
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			out = append(out, diffJSON(path+"."+k, w[k], g[k])...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: Python %v, ours %v", path, want, got)}
		}
		var out []string
		for i := range w {
			out = append(out, diffJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: Python %#v, ours %#v", path, want, got)}
	}
	return nil
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

package config

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
)

// pythonEval runs a Python snippet that reads a JSON list of inputs on
// stdin and prints a JSON list of results, one per input.
func pythonEval(t *testing.T, program string, inputs any) []json.RawMessage {
	t.Helper()
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonSupervisor, "-c", program)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python output: %v", err)
	}
	return res
}

// randomStrings makes deterministic random strings from an alphabet that
// exercises a parser's special characters.
func randomStrings(seed int64, n, maxLen int, alphabet []string) []string {
	r := rand.New(rand.NewSource(seed))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for k := r.Intn(maxLen + 1); k > 0; k-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		out[i] = b.String()
	}
	return out
}

func TestParseEnvironment_matchesPython(t *testing.T) {
	inputs := []string{
		``, `A=1`, `A=1,B=2`, `A=1,B=2,`, `A="a,b",B='c d'`, `A=1,B`, `A=a b`,
		`B=x#y,C=2`, `C=café`, `D=1;E=2`, `A="unclosed`, `A='x"y'`, `"K"=v`,
		`A=1,,B=2`, `A==1`, `A=$HOME`, `A=/usr/bin:/bin,B=x.y+z-(1)`,
		"A=\"multi\nline\",B=2", `A=1 ,B=2`, `=`, `A=`, `A="",B=''`,
		`PROC_NAME="caddy",USER=root,HOME=/home/root`,
	}
	inputs = append(inputs, randomStrings(1, 3000, 14,
		[]string{"A", "b", "1", "=", ",", `"`, "'", " ", "#", "\n", "é", ";", "/", ".", "%", "_", "\t", "$"})...)
	res := pythonEval(t, `
import sys, json
from supervisor.datatypes import dict_of_key_value_pairs
out = []
for s in json.load(sys.stdin):
    try:
        d = dict_of_key_value_pairs(s)
        out.append({"ok": True, "pairs": [[k, v] for k, v in d.items()]})
    except ValueError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
`, inputs)
	for i, s := range inputs {
		var want struct {
			OK    bool       `json:"ok"`
			Pairs [][]string `json:"pairs"`
			Error string     `json:"error"`
		}
		if err := json.Unmarshal(res[i], &want); err != nil {
			t.Fatal(err)
		}
		env, err := parseEnvironment(s)
		if !want.OK {
			if err == nil || err.Error() != want.Error {
				t.Errorf("parseEnvironment(%q) = %v, %v; Python: error %q", s, env, err, want.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseEnvironment(%q): %v; Python accepts: %v", s, err, want.Pairs)
			continue
		}
		var got [][]string
		for _, kv := range env {
			got = append(got, []string{kv.Key, kv.Value})
		}
		if len(got) != len(want.Pairs) || (len(got) > 0 && !equalPairs(got, want.Pairs)) {
			t.Errorf("parseEnvironment(%q) = %q; Python %q", s, got, want.Pairs)
		}
	}
}

func equalPairs(a, b [][]string) bool {
	for i := range a {
		if a[i][0] != b[i][0] || a[i][1] != b[i][1] {
			return false
		}
	}
	return true
}

func TestExpand_matchesPython(t *testing.T) {
	inputs := []string{
		`%(here)s`, `%%`, `100%`, `%(program_name)s_%(process_num)02d`,
		`%(process_num)d`, `%(process_num)5d|%(process_num)-5d|%(process_num)+d`,
		`%(process_num)x %(process_num)#o %(process_num)#X %(process_num)c`,
		`%(process_num).3d`, `%(process_num)f %(process_num)e %(process_num).2g`,
		`%(here)r %(here)a %(here).2s %(here)10s %(here)-10s|`,
		`%(here)d`, `%(here)x`, `%(missing)s`, `%(here)`, `%(here`, `%(here)z`,
		`%(a(b)c)s`, `%(ENV_X)s`, `%%(here)s`, `%(here)%`, `a%`, `%(numprocs)03i`,
		`%(process_num)05.2f`, `%(uni)s`, `%(uni)r`, `%(uni)5s|`,
	}
	inputs = append(inputs, randomStrings(2, 3000, 7,
		[]string{"%", "(", ")", "here", "process_num", "s", "d", "0", "5", "-", "#", ".", " ", "x", "%%", "%(here)s", "%(process_num)"})...)
	res := pythonEval(t, `
import sys, json
from supervisor.options import expand
exp = {"here": "/etc/x", "process_num": 7, "numprocs": 12, "ENV_X": "ex", "a(b)c": "paren", "uni": "é\u00a0'q"}
out = []
for s in json.load(sys.stdin):
    try:
        out.append({"ok": True, "value": expand(s, exp, "program:x.command")})
    except ValueError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
`, inputs)
	exp := expansions{"here": "/etc/x", "process_num": int64(7), "numprocs": int64(12), "ENV_X": "ex", "a(b)c": "paren", "uni": "é\u00a0'q"}
	for i, s := range inputs {
		var want struct {
			OK    bool   `json:"ok"`
			Value string `json:"value"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(res[i], &want); err != nil {
			t.Fatal(err)
		}
		got, err := expand(s, exp, "program:x.command")
		switch {
		case want.OK && err != nil && isUnnamedFormat(s):
			// Deliberate: Python pastes its whole expansion dict here.
		case want.OK && err != nil:
			t.Errorf("expand(%q): %v; Python %q", s, err, want.Value)
		case want.OK && got != want.Value:
			t.Errorf("expand(%q) = %q; Python %q", s, got, want.Value)
		case !want.OK && err == nil:
			t.Errorf("expand(%q) = %q; Python: %s", s, got, want.Error)
		case !want.OK:
			// Python's list of available names is not ours; the rest is.
			wantMsg := availableNames.ReplaceAllString(want.Error, "")
			gotMsg := availableNames.ReplaceAllString(err.Error(), "")
			if gotMsg != wantMsg && !isUnnamedFormat(s) {
				t.Errorf("expand(%q) error:\n got  %s\n want %s", s, gotMsg, wantMsg)
			}
		}
	}
}

// isUnnamedFormat reports whether s uses a conversion without a name, which
// we reject with our own message (Python formats its whole dict or fails).
func isUnnamedFormat(s string) bool {
	_, err := pyFormat(s, expansions{"here": "", "process_num": int64(0), "numprocs": int64(0), "ENV_X": "", "a(b)c": "", "uni": ""})
	return err != nil && strings.Contains(err.Error(), "needs a name")
}

func TestFnmatch_matchesPython(t *testing.T) {
	names := []string{"a.conf", ".hidden.conf", "a b.conf", "x", "[a].conf", "b.conf~", "conf", "a.CONF", `a\b`, "ab", "-"}
	patterns := []string{"*.conf", "*", "?", "[ab]*", "[!a]*", "[a-c].conf", "[]].conf", "[a", `a\b`, "*.[cC][oO][nN][fF]", "[--]", "[!]]", "a*b", "**"}
	type pair struct{ Name, Pattern string }
	var inputs []pair
	for _, n := range names {
		for _, p := range patterns {
			inputs = append(inputs, pair{n, p})
		}
	}
	res := pythonEval(t, `
import sys, json, fnmatch
print(json.dumps([fnmatch.fnmatchcase(p["Name"], p["Pattern"]) for p in json.load(sys.stdin)]))
`, inputs)
	for i, in := range inputs {
		var want bool
		if err := json.Unmarshal(res[i], &want); err != nil {
			t.Fatal(err)
		}
		if got := fnmatch(in.Name, in.Pattern); got != want {
			t.Errorf("fnmatch(%q, %q) = %v; Python %v", in.Name, in.Pattern, got, want)
		}
	}
}

func TestValueParsers_matchPython(t *testing.T) {
	inputs := []string{
		"1", "-1", "+5", " 7 ", "1_0", "_1", "1_", "1__0", "0012", "١٢", "", "x", "1.5", "0o17", "0O17", "0o_7", "-0o7", "8", "17",
		"10KB", "5mb", "1GB", "10M", "kb", " 2 MB", "2MB ", "yes", "No", "ON", "0", "maybe", "TRUE",
		"TERM", "SIGKILL", "hup", "sigusr2", "9", "0", "34", "35", "64", "65", "-1", "FOO", "_DFL", "RTMIN", "IOT", " term ",
		"0,2", "0,256", "0,", "", " 1 , 2", "-1", "unexpected", "Unexpected", "x", "critical", "WARN", "blather", "loud",
		"9001", ":9001", "*:9001", "localhost:9001", "LOCALHOST:1", "127.0.0.1:0", "70000", "abc", "localhost:", "a:b:9001",
		"a b", "a:b", "a/b", " ab ", "a\tb",
	}
	res := pythonEval(t, `
import sys, json
from supervisor import datatypes as d
fns = {"integer": d.integer, "octal": d.octal_type, "bytes": d.byte_size, "bool": d.boolean,
       "signal": d.signal_number, "exitcodes": d.list_of_exitcodes, "autorestart": d.auto_restart,
       "level": d.logging_level, "inet": d.inet_address, "name": d.process_or_group_name}
out = []
for s in json.load(sys.stdin):
    r = {}
    for k, f in fns.items():
        try:
            v = f(s)
            if k == "autorestart":
                v = {d.RestartUnconditionally: "true", d.RestartWhenExitUnexpected: "unexpected", False: "false"}[v]
            r[k] = {"ok": True, "value": v}
        except Exception as e:
            r[k] = {"ok": False, "error": str(e)}
    out.append(r)
print(json.dumps(out))
`, inputs)
	levelNumber := func(s string) (any, error) { l, err := parseLogLevel(s); return int(l), err }
	fns := map[string]func(string) (any, error){
		"integer":     func(s string) (any, error) { return parseInt(s) },
		"octal":       func(s string) (any, error) { return parseOctal(s) },
		"bytes":       func(s string) (any, error) { return parseByteSize(s) },
		"bool":        func(s string) (any, error) { return parseBool(s) },
		"signal":      func(s string) (any, error) { return parseSignal(s) },
		"exitcodes":   func(s string) (any, error) { return parseExitCodes(s) },
		"autorestart": func(s string) (any, error) { a, err := parseAutorestart(s); return a.String(), err },
		"level":       levelNumber,
		"inet":        func(s string) (any, error) { h, p, err := parseInetAddress(s); return []any{h, p}, err },
		"name":        func(s string) (any, error) { return parseName(s) },
	}
	for i, s := range inputs {
		var want map[string]struct {
			OK    bool            `json:"ok"`
			Value json.RawMessage `json:"value"`
			Error string          `json:"error"`
		}
		if err := json.Unmarshal(res[i], &want); err != nil {
			t.Fatal(err)
		}
		for k, fn := range fns {
			got, err := fn(s)
			w := want[k]
			if !w.OK {
				if err == nil {
					t.Errorf("%s(%q) = %v; Python: %s", k, s, got, w.Error)
				} else if err.Error() != w.Error {
					t.Errorf("%s(%q) error %q; Python %q", k, s, err, w.Error)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s(%q): %v; Python %s", k, s, err, w.Value)
				continue
			}
			gotJSON, _ := json.Marshal(got)
			if !jsonEqual(gotJSON, w.Value) {
				t.Errorf("%s(%q) = %s; Python %s", k, s, gotJSON, w.Value)
			}
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

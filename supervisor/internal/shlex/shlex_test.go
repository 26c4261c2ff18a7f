package shlex

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"
)

func TestSplit_matchesPythonShlex(t *testing.T) {
	inputs := []string{
		`sleep 10`, `  a   b  `, `"a b" c`, `'a "b"' c`, `a\ b`, `"a\"b"`, `"a\\b"`, `"a\nb"`,
		`'it''s'`, `x"y z"w`, `a #b`, `"unclosed`, `'unclosed`, `trailing\`, ``, `   `,
		`bash -c "echo $HOME && sleep 1"`, `é ü`, "tab\tsep", `""`, `''`, `a ""`,
	}
	cmd := exec.Command("/usr/bin/python3", "-c", `
import sys, json, shlex
out = []
for s in json.load(sys.stdin):
    try: out.append({"ok": True, "args": shlex.split(s)})
    except ValueError as e: out.append({"ok": False, "error": str(e)})
print(json.dumps(out))`)
	in, _ := json.Marshal(inputs)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		OK    bool
		Args  []string
		Error string
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		got, err := Split(s)
		w := want[i]
		if !w.OK {
			if err == nil || err.Error() != w.Error {
				t.Errorf("Split(%q) = %q, %v; Python error %q", s, got, err, w.Error)
			}
			continue
		}
		if err != nil || len(got) != len(w.Args) {
			t.Errorf("Split(%q) = %q, %v; Python %q", s, got, err, w.Args)
			continue
		}
		for k := range got {
			if got[k] != w.Args[k] {
				t.Errorf("Split(%q) = %q; Python %q", s, got, w.Args)
			}
		}
	}
}

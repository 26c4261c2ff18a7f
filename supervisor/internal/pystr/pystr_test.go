package pystr

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"
)

func TestRepr_matchesPython(t *testing.T) {
	inputs := []string{"", "a", "it's", `say "hi"`, `both ' and "`, "tab\there", "nl\n", "\x00\x1b\x7f", "é ü 中", "\u00a0\u2028", "\U0001f600", `back\slash`}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command("/usr/bin/python3", "-c", `
import sys, json
xs = json.load(sys.stdin)
print(json.dumps([[repr(x), repr(x.encode('utf-8'))] for x in xs]))`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][2]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		if got := Repr(s); got != want[i][0] {
			t.Errorf("Repr(%q) = %s, Python %s", s, got, want[i][0])
		}
		if got := BytesRepr([]byte(s)); got != want[i][1] {
			t.Errorf("BytesRepr(%q) = %s, Python %s", s, got, want[i][1])
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, c := range []struct {
		s    string
		base int
		want string
		ok   bool
	}{
		{" 12 ", 10, "12", true}, {"+1_000", 10, "1000", true}, {"-7", 10, "-7", true},
		{"1__0", 10, "", false}, {"_1", 10, "", false}, {"", 10, "", false},
		{"0o17", 8, "15", true}, {"022", 8, "18", true}, {"9", 8, "", false},
		{"١٢", 10, "12", true}, {"99999999999999999999999", 10, "99999999999999999999999", true},
	} {
		n, ok := ParseInt(c.s, c.base)
		if ok != c.ok || (ok && n.String() != c.want) {
			t.Errorf("ParseInt(%q, %d) = %v, %v", c.s, c.base, n, ok)
		}
	}
}

func TestDirnameJoin(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/supervisorctl": "/usr/bin", "supervisorctl": "", "/supervisorctl": "/",
		"//x": "//", "a//b": "a", "./x": ".",
	} {
		if got := Dirname(in); got != want {
			t.Errorf("Dirname(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Join("", "etc", "supervisord.conf"); got != "etc/supervisord.conf" {
		t.Errorf("Join = %q", got)
	}
	if got := Join("/usr/", "etc", "/abs", "x"); got != "/abs/x" {
		t.Errorf("Join = %q", got)
	}
}

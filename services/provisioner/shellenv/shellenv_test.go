package shellenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

var shells = []string{"bash", "dash"}

func needShells(t testing.TB) {
	for _, sh := range shells {
		if _, err := exec.LookPath(sh); err != nil {
			t.Fatalf("%s is needed (apt-get install %s): %v", sh, sh, err)
		}
	}
}

// readBack sources file in sh and prints the value of name, byte for byte.
func readBack(t testing.TB, sh, file, name string) []byte {
	t.Helper()
	out, err := exec.Command(sh, "-c", `. "$1" && printf %s "$`+name+`"`, sh, file).Output()
	if err != nil {
		t.Fatalf("%s sourcing %s: %v", sh, file, err)
	}
	return out
}

func TestWrite_RoundTrip(t *testing.T) {
	needShells(t)
	values := []string{"", "plain", "it's", `a"b`, "$(touch /tmp/pwned)", "`id`", "line1\nline2\n", "back\\slash", "'''", "\t \r", "\xff\xfe", "___"}
	e := env.New()
	for i, v := range values {
		e.Set("V"+string(rune('A'+i)), v)
	}
	e.Set("WEB_PASSWORD", "hunter2secret")
	e.Set("HF_TOKEN", "hf_abcdef")
	e.Set("bad-name", "x")
	path := filepath.Join(t.TempDir(), "environment.sh")
	if _, err := Write(path, e); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shells {
		for i, v := range values {
			if got := readBack(t, sh, path, "V"+string(rune('A'+i))); string(got) != v {
				t.Errorf("%s: value %q read back as %q", sh, v, got)
			}
		}
	}
	b, _ := os.ReadFile(path)
	for _, s := range []string{"hunter2secret", "hf_abcdef", "bad-name"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("file holds %q:\n%s", s, b)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestWrite_KeepsBuildPartAndIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "environment.sh")
	build := "# build time\nexport CUDA_VERSION='12.4'\n"
	os.WriteFile(path, []byte(build), 0o644)
	e := env.New()
	e.Set("A", "1")
	if changed, err := Write(path, e); err != nil || !changed {
		t.Fatalf("first write: changed %v, %v", changed, err)
	}
	first, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(first), build+Marker+"\n") {
		t.Fatalf("build part lost:\n%s", first)
	}
	if changed, err := Write(path, e); err != nil || changed {
		t.Fatalf("second write: changed %v, %v", changed, err)
	}
	e.Set("A", "2")
	Write(path, e)
	third, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(third), build+Marker+"\n") || strings.Count(string(third), Marker) != 1 || !strings.Contains(string(third), "export A='2'\n") {
		t.Fatalf("rewrite:\n%s", third)
	}
}

// FuzzQuote: any value an environment variable can hold survives
// `. file` in bash and dash.
func FuzzQuote(f *testing.F) {
	needShells(f)
	for _, s := range []string{"", "'", `'\''`, "\n", "$x", "\\", "\x80", "a'b'c"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			return // no environment variable can hold a NUL
		}
		f, err := os.CreateTemp(dir, "env*.sh")
		if err != nil {
			t.Fatal(err)
		}
		path := f.Name()
		defer os.Remove(path)
		_, err = f.WriteString("export X=" + Quote(v) + "\n")
		if cerr := f.Close(); err != nil || cerr != nil {
			t.Fatal(err, cerr)
		}
		for _, sh := range shells {
			if got := readBack(t, sh, path, "X"); string(got) != v {
				t.Fatalf("%s: %q read back as %q", sh, v, got)
			}
		}
	})
}

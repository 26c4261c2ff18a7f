package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpusSeeds adds every corpus file as a fuzz seed.
func corpusSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.conf")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
}

func FuzzINIRead(f *testing.F) {
	corpusSeeds(f)
	f.Add([]byte("[a]\nk=v\n  cont\n\n  more ; c\n#x\n[DEFAULT]\nd:1\n"))
	f.Add([]byte("\xef\xbb\xbf[a]\n"))
	f.Add([]byte("k=v\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newIniDoc()
		err := d.read("fuzz.conf", data)
		lines := len(splitLines(string(data)))
		if err != nil {
			if !utf8.Valid(data) || strings.HasPrefix(string(data), "\ufeff") {
				return
			}
			se, ok := err.(*syntaxError)
			if !ok || len(se.Lines) == 0 {
				t.Fatalf("unexpected error %T %v", err, err)
			}
			for _, l := range se.Lines {
				if l.Line < 1 || l.Line > lines {
					t.Fatalf("error on line %d of %d", l.Line, lines)
				}
			}
			return
		}
		for _, s := range append(d.sections, d.defaults) {
			for _, k := range s.keys {
				v := s.vals[k]
				if v.at.Line < 1 || v.at.Line > lines {
					t.Fatalf("value %q on line %d of %d", k, v.at.Line, lines)
				}
				if v.text != pyRStrip(v.text) || v.lines != nil {
					t.Fatalf("value %q not joined and stripped: %q", k, v.text)
				}
			}
		}
	})
}

func FuzzParseEnvironment(f *testing.F) {
	for _, s := range []string{`A=1,B="x,y"`, `A='q'`, `A="`, "A=1#c\nB=2", `K=v,`, `A=café`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		env, err := parseEnvironment(s)
		if err != nil {
			return
		}
		for _, kv := range env {
			if strings.ContainsAny(kv.Key, " \t\r\n") {
				t.Fatalf("key with whitespace %q from %q", kv.Key, s)
			}
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%(here)s", "%%", "%(process_num)02d", "%(x)999999s%(x)999999s", "%(", "%-#0 +5.3f", "%(here)r"} {
		f.Add(s)
	}
	exp := expansions{"here": "/h", "x": "x", "process_num": int64(3)}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, exp, "fuzz")
		if err == nil && len(out) > maxExpansion+len(s) {
			t.Fatalf("expansion of %d bytes", len(out))
		}
	})
}

func FuzzLoad(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		name := filepath.Join(dir, "supervisord.conf")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadWith(name, Options{Environ: []string{"HOME=/root"}, Hostname: "fuzz"})
		if err != nil {
			es, ok := err.(Errors)
			if !ok || len(es) == 0 {
				t.Fatalf("error is %T, want non-empty Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
			return
		}
		for _, g := range cfg.Groups {
			for _, p := range g.Processes {
				if p.Group != g.Name {
					t.Fatalf("process %s in group %s says %s", p.Name, g.Name, p.Group)
				}
			}
		}
		_ = cfg.Effective()
	})
}

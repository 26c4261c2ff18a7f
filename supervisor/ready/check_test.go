package ready

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want Check
	}{
		{"tcp:127.0.0.1:1111", Check{Kind: TCP, Target: "127.0.0.1:1111"}},
		{"tcp::8080", Check{Kind: TCP, Target: "127.0.0.1:8080"}},
		{"tcp:[::1]:22", Check{Kind: TCP, Target: "[::1]:22"}},
		{" TCP:localhost:5900 ", Check{Kind: TCP, Target: "localhost:5900"}},
		{"http://127.0.0.1:11111/healthz", Check{Kind: HTTP, Target: "http://127.0.0.1:11111/healthz"}},
		{"https://localhost/", Check{Kind: HTTP, Target: "https://localhost/"}},
		{"unix:/tmp/.X11-unix/X0", Check{Kind: Unix, Target: "/tmp/.X11-unix/X0"}},
		{"file:/run/dbus/system_bus_socket", Check{Kind: File, Target: "/run/dbus/system_bus_socket"}},
		{"absent:/run/container_config", Check{Kind: Absent, Target: "/run/container_config"}},
		{`exec:pg_isready -h "my host"`, Check{Kind: Exec, Argv: []string{"pg_isready", "-h", "my host"}}},
		{`exec:/bin/sh -c 'test -S /run/x'`, Check{Kind: Exec, Argv: []string{"/bin/sh", "-c", "test -S /run/x"}}},
	}
	for _, c := range good {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			c.want.Text = strings.TrimSpace(c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", c.in, got, c.want)
			}
		})
	}
	bad := map[string]string{
		"":                    "empty check",
		"caddy":               "no kind",
		"tcp:1111":            "want tcp:HOST:PORT",
		"tcp:host:0":          "1 to 65535",
		"tcp:host:http":       "1 to 65535",
		"tcp:host:70000":      "1 to 65535",
		"unix:":               "with a path",
		"file:relative/path":  "not absolute",
		"absent:run/x":        "not absolute",
		"exec:":               "with a command",
		`exec:echo "unclosed`: "No closing quotation",
		"http://":             "no host",
		"http://a b/":         "URL",
		"ftp:host:21":         `unknown kind "ftp"`,
		"file:/a\x00b":        "NUL",
	}
	for in, want := range bad {
		t.Run("bad/"+in, func(t *testing.T) {
			_, err := Parse(in)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"tcp:127.0.0.1:80", "http://x/", "unix:/a", "file:/b", "absent:/c", `exec:a "b c" 'd'`, "tcp:[::1]:1", "exec:\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed check names what it looks at, and parses again to
		// the same check.
		switch c.Kind {
		case Exec:
			if len(c.Argv) == 0 {
				t.Fatalf("exec check %q without a command", s)
			}
		case TCP, HTTP, Unix, File, Absent:
			if c.Target == "" {
				t.Fatalf("%s check %q without a target", c.Kind, s)
			}
		default:
			t.Fatalf("Parse(%q) gave kind %d", s, c.Kind)
		}
		again, err := Parse(c.Text)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("Parse(%q) = %#v, but its text parses to %#v, %v", s, c, again, err)
		}
	})
}

package ctl

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
)

func TestParseline(t *testing.T) {
	for _, tc := range []struct {
		in, cmd, arg, line string
		ok                 bool
	}{
		{"", "", "", "", false},
		{"  \t ", "", "", "", false},
		{"status", "status", "", "status", true},
		{"  status  g:*  x ", "status", "g:*  x", "status  g:*  x", true},
		{"status:foo", "status", ":foo", "status:foo", true},
		{"?", "help", "", "help ", true},
		{"?status", "help", "status", "help status", true},
		{"!ls -l", "", "", "!ls -l", false},
		{"-x", "", "-x", "-x", true},
		{"été", "", "été", "été", true},
		{"tail\x1c-f x", "tail", "-f x", "tail\x1c-f x", true},
	} {
		cmd, arg, line, ok := parseline(tc.in)
		if cmd != tc.cmd || arg != tc.arg || line != tc.line || ok != tc.ok {
			t.Errorf("parseline(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.in, cmd, arg, line, ok, tc.cmd, tc.arg, tc.line, tc.ok)
		}
	}
}

func TestByteCount(t *testing.T) {
	for _, tc := range []struct {
		in       string
		offset   int
		ok, over bool
	}{
		{"100", -100, true, false},
		{"1_000", -1000, true, false},
		{"-5", 5, true, false},
		{"+5", -5, true, false},
		{"٣", -3, true, false}, // Python's int() reads any decimal digit
		{"2147483648", -2147483648, true, false},
		{"2147483649", 0, true, true},
		{"-2147483648", 0, true, true},
		{"99999999999999999999999", 0, true, true},
		{"x", 0, false, false},
		{"1__0", 0, false, false},
		{"_1", 0, false, false},
		{"", 0, false, false},
		{"0x10", 0, false, false},
	} {
		offset, ok, err := byteCount(tc.in)
		if offset != tc.offset || ok != tc.ok || (err != nil) != tc.over {
			t.Errorf("byteCount(%q) = %d, %v, %v", tc.in, offset, ok, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:9001": "",
		"unix:///tmp/x.sock":    "",
		"x:y":                   "",
		"HTTP://x":              "",
		"foo":                   "value 'foo' is not a URL",
		"http:":                 "value 'http:' is not a URL",
		"http:?q":               "value 'http:?q' is not a URL",
		"1http://x":             "value '1http://x' is not a URL",
		"http://[::1":           "Invalid IPv6 URL",
		"http://a[::1]":         "Invalid IPv6 URL",
		"http://[::1]x":         "Invalid IPv6 URL",
		"http://[1.2.3.4]":      "An IPv4 address cannot be in brackets",
		"http://[zz]":           "'zz' does not appear to be an IPv4 or IPv6 address",
		"http://[v1.x]":         "",
		"http://[vz]":           "IPvFuture address is invalid",
		" \thttp://x":           "",
	} {
		if got := checkURL(in); got != want {
			t.Errorf("checkURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamespec(t *testing.T) {
	for _, tc := range []struct{ in, group, process, spec string }{
		{"x", "x", "x", "x"},
		{"g:x", "g", "x", "g:x"},
		{"g:*", "g", "", "g:None"},
		{"g:", "g", "", "g:None"},
		{"g:x:y", "g", "x:y", "g:x:y"},
	} {
		g, p, _ := splitNamespec(tc.in)
		if g != tc.group || p != tc.process || namespecOf(tc.in) != tc.spec {
			t.Errorf("%q: %q %q %q", tc.in, g, p, namespecOf(tc.in))
		}
	}
}

func TestFeedWriter(t *testing.T) {
	var b bytes.Buffer
	w := &feedWriter{w: &b}
	w.Write([]byte("héllo\n"))
	w.Write([]byte("a\xff'b\n"))
	if want := "héllo\nUndecodable: b\"a\\xff'b\\n\""; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestColumnize(t *testing.T) {
	var b bytes.Buffer
	c := &controller{out: &b}
	c.columnize([]string{"a", "bb", "ccc"}, 79)
	c.columnize([]string{"only"}, 79)
	c.columnize(nil, 79)
	c.columnize([]string{strings.Repeat("x", 50), strings.Repeat("y", 50), "z"}, 79)
	// As Python's cmd.Cmd().columnize prints them.
	want := "a  bb  ccc\nonly\n<empty>\n" + strings.Repeat("x", 50) + "  z\n" + strings.Repeat("y", 50) + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// hangingServer accepts connections on a unix socket and never answers;
// accepted receives a value at each connection.
func hangingServer(t *testing.T) (sock string, accepted <-chan struct{}) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "sock")
	acc := make(chan struct{}, 16)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case acc <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return sock, acc
}

// Ctrl-C during a one-shot command ends it as Python's uncaught
// KeyboardInterrupt does (exit 130, no output); in the shell it prints a
// newline and exits 0.
func TestProgram_interrupt(t *testing.T) {
	sock, accepted := hangingServer(t)
	intr := make(chan struct{})
	go func() {
		<-accepted // the command waits for its answer
		intr <- struct{}{}
	}()
	r := runProgram("", intr, "-s", "unix://"+sock, "status")
	if r != (result{"", "", 130}) {
		t.Errorf("one-shot: %v", r)
	}

	stdin, feed := io.Pipe()
	defer feed.Close()
	out := &syncBuffer{}
	intr = make(chan struct{})
	p := &Program{Args: []string{"supervisorctl", "-s", "unix:///nonexistent"}, Stdin: stdin, Stdout: out, Stderr: io.Discard, Interrupt: intr}
	done := make(chan int)
	go func() { done <- p.Run() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasSuffix(out.String(), "supervisor> ") { // at the prompt
		if time.Now().After(deadline) {
			t.Fatalf("no prompt after 30 s: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	intr <- struct{}{}
	if code := <-done; code != 0 || out.String() != "unix:///nonexistent no such file\nsupervisor> \n" {
		t.Errorf("shell: exit %d, output %q", code, out.String())
	}
}

// fg sends stdin lines to the process and shows its output until EOF.
// (Python's fg lingers up to 30 s after EOF before it exits, so it is not
// compared.)
func TestFg(t *testing.T) {
	requirePython(t)
	t.Parallel()
	d := startDaemon(t, "[program:cat]\ncommand=/bin/cat\nstartsecs=0\n", daemonOpts{})
	stdin, feed := io.Pipe()
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		p := &Program{Args: []string{"supervisorctl", "-c", d.conf, "fg", "cat"}, Stdin: stdin, Stdout: out, Stderr: out}
		done <- p.Run()
	}()
	io.WriteString(feed, "hello\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "hello\n") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	feed.Close()
	code := <-done
	if want := "==> Press Ctrl-C to exit <==\nhello\nExiting foreground\n"; code != 0 || out.String() != want {
		t.Errorf("exit %d, output %q, want %q", code, out.String(), want)
	}
}

// syncBuffer collects output while the test reads it.
type syncBuffer = daemontest.Buffer

// Main names the program as Python's sys.argv[0] does: the path the shell
// found it at.
func TestMain_progname(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "supervisorctl"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("PATH", dir)
	var out, errb bytes.Buffer
	code := Main([]string{"supervisorctl", "-v"}, strings.NewReader(""), &out, &errb)
	want := "Error: option -v not recognized\nFor help, use " + dir + "/supervisorctl -h\n"
	if code != 2 || out.String() != "" || errb.String() != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want stderr %q", code, out.String(), errb.String(), want)
	}
	errb.Reset()
	Main([]string{"./bin/supervisorctl", "-v"}, strings.NewReader(""), &out, &errb)
	if !strings.Contains(errb.String(), "use ./bin/supervisorctl -h") {
		t.Errorf("a path is kept as it is: %q", errb.String())
	}
}

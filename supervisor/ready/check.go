// Package ready is the readiness checks of the ready= option: a CHECK
// string parsed into a typed Check, and one run of it bounded by a context.
//
//	tcp:HOST:PORT     a TCP connection is accepted
//	http://URL        a GET answers 2xx or 3xx (https:// too)
//	unix:PATH         a unix socket accepts a connection
//	file:PATH         the path exists
//	absent:PATH       the path does not exist
//	exec:COMMAND      the command exits 0 (split like command=, no shell)
//
// The package knows nothing of supervisord; the daemon decides when to run
// a check and what its answers mean.
package ready

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/gpudesk/runtime/supervisor/internal/shlex"
)

// Kind is what a check looks at.
type Kind int

// Check kinds.
const (
	TCP Kind = iota + 1
	HTTP
	Unix
	File
	Absent
	Exec
)

func (k Kind) String() string {
	switch k {
	case TCP:
		return "tcp"
	case HTTP:
		return "http"
	case Unix:
		return "unix"
	case File:
		return "file"
	case Absent:
		return "absent"
	case Exec:
		return "exec"
	}
	return "unknown"
}

// Check is one parsed readiness check. It is a plain value: two checks
// parsed from the same text are equal (reflect.DeepEqual), which is how a
// configuration change is detected.
type Check struct {
	Kind Kind
	// Target is HOST:PORT (tcp), the URL (http), or the path (unix, file,
	// absent).
	Target string
	// Argv is the command of an exec check.
	Argv []string
	// Text is the check as written.
	Text string
}

func (c Check) String() string { return c.Text }

// Syntax is a description of what Parse accepts, for error messages.
const Syntax = "tcp:HOST:PORT, http://URL, https://URL, unix:PATH, file:PATH, absent:PATH or exec:COMMAND"

// Parse reads a CHECK string.
func Parse(s string) (Check, error) {
	text := strings.TrimSpace(s)
	c := Check{Text: text}
	if text == "" {
		return c, errors.New("empty check")
	}
	if strings.HasPrefix(text, "http://") || strings.HasPrefix(text, "https://") {
		u, err := url.Parse(text)
		if err != nil {
			return c, fmt.Errorf("not a URL: %w", err)
		}
		if u.Host == "" {
			return c, errors.New("the URL has no host")
		}
		if strings.ContainsAny(text, " \t\r\n") {
			return c, errors.New("the URL contains white space")
		}
		c.Kind, c.Target = HTTP, text
		return c, nil
	}
	kind, rest, ok := strings.Cut(text, ":")
	if !ok {
		return c, fmt.Errorf("no kind: want %s", Syntax)
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(kind) {
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return c, fmt.Errorf("want tcp:HOST:PORT (e.g. tcp:127.0.0.1:8080): %w", err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		c.Kind, c.Target = TCP, net.JoinHostPort(host, strconv.Itoa(n))
	case "unix", "file", "absent":
		if rest == "" {
			return c, fmt.Errorf("want %s:PATH with a path", kind)
		}
		if !strings.HasPrefix(rest, "/") {
			return c, fmt.Errorf("path %q is not absolute", rest)
		}
		if strings.ContainsRune(rest, 0) {
			return c, errors.New("the path contains a NUL byte")
		}
		c.Target = rest
		c.Kind = map[string]Kind{"unix": Unix, "file": File, "absent": Absent}[strings.ToLower(kind)]
	case "exec":
		argv, err := shlex.Split(rest)
		if err != nil {
			return c, fmt.Errorf("cannot split the command: %w", err)
		}
		if len(argv) == 0 {
			return c, errors.New("want exec:COMMAND with a command")
		}
		for _, a := range argv {
			if strings.ContainsRune(a, 0) {
				return c, errors.New("the command contains a NUL byte")
			}
		}
		c.Kind, c.Argv = Exec, argv
	default:
		return c, fmt.Errorf("unknown kind %q: want %s", kind, Syntax)
	}
	return c, nil
}

package config

// Value types, read exactly as supervisor 4.2.5's datatypes module reads
// them. Each parser returns an error worded as Python's, which the loader
// wraps with the file, line, section and option.

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// valueError is a bad value: Msg is supervisor's wording, Hint says what
// would be accepted.
type valueError struct {
	Msg  string
	Hint string
}

func (e *valueError) Error() string { return e.Msg }

func badValue(hint, format string, args ...any) error {
	return &valueError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

const (
	hintBool     = "use one of true/false, yes/no, on/off, 1/0"
	hintInt      = "use a whole number"
	hintBytes    = "use a whole number of bytes, optionally followed by KB, MB or GB (e.g. 50MB)"
	hintSignal   = "use a signal name such as TERM, HUP, INT, QUIT, KILL, USR1 (with or without SIG) or its number"
	hintExit     = "use a comma-separated list of exit codes from 0 to 255"
	hintRestart  = "use true, false or unexpected"
	hintOctal    = "use an octal number such as 022"
	hintEnv      = `use KEY=value pairs separated by commas; quote values that hold other characters than letters, digits and _/.+-(): (KEY="a b,c")`
	hintName     = "names may not contain spaces, ':' or '/'"
	hintLevel    = "use one of critical, error, warn, info, debug, trace, blather"
	hintPort     = "use PORT, :PORT, *:PORT or HOST:PORT with a port from 1 to 65535"
	hintDir      = "create the directory or point at an existing one"
	hintUser     = "use a user name or uid that exists on this system"
	hintUnixSock = "use unix:///absolute/path or tcp://host:port"
)

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, badValue(hintBool, "not a valid boolean value: %s", pyRepr(s))
}

func parseInt(s string) (int64, error) {
	n, err := pyInt(s, 10)
	if errors.Is(err, errIntRange) {
		return 0, badValue("use a number that fits in 64 bits", "%s is too large", pyRepr(s))
	}
	if err != nil {
		return 0, badValue(hintInt, "%s", err)
	}
	return n, nil
}

// parseByteSize reads 1024, 10KB, 5mb, 1GB.
func parseByteSize(s string) (int64, error) {
	v := strings.ToLower(s)
	mult := int64(1)
	for suffix, m := range map[string]int64{"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			v, mult = v[:len(v)-2], m
			break
		}
	}
	n, err := pyInt(v, 10)
	if errors.Is(err, errIntRange) || (err == nil && (n > (1<<63-1)/mult || n < -(1<<63-1)/mult)) {
		return 0, badValue("use a size that fits in 64 bits", "%s is too large", pyRepr(s))
	}
	if err != nil {
		return 0, badValue(hintBytes, "%s", err)
	}
	return n * mult, nil
}

func parseOctal(s string) (int64, error) {
	n, err := pyInt(s, 8)
	if err != nil {
		return 0, badValue(hintOctal, "%s can not be converted to an octal type", s)
	}
	return n, nil
}

// signalNames are the SIG* attributes of Python's signal module on Linux,
// which is what supervisor looks names up in.
var signalNames = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5,
	"SIGABRT": 6, "SIGIOT": 6, "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9,
	"SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14,
	"SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18,
	"SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
	"SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27,
	"SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29, "SIGPWR": 30, "SIGSYS": 31,
	"SIGRTMIN": 34, "SIGRTMAX": 64,
	"SIG_DFL": 0, "SIG_IGN": 1, "SIG_BLOCK": 0, "SIG_UNBLOCK": 1, "SIG_SETMASK": 2,
}

// SignalName returns the conventional name of a signal number ("TERM").
func SignalName(n int) string {
	best := ""
	for name, v := range signalNames {
		if v != n || strings.HasPrefix(name, "SIG_") {
			continue
		}
		// Prefer the POSIX names over Linux aliases.
		switch name {
		case "SIGIOT", "SIGCLD", "SIGIO": // Python's signame picks SIGPOLL for 29
			continue
		}
		best = strings.TrimPrefix(name, "SIG")
	}
	if best == "" {
		return strconv.Itoa(n)
	}
	return best
}

func validSignalNumber(n int64) bool {
	if n >= 0 && n <= 31 {
		return true
	}
	return n == 34 || n == 64
}

func parseSignal(s string) (int, error) {
	n, err := pyInt(s, 10)
	if err != nil {
		name := strings.ToUpper(pyStrip(s))
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		num, ok := signalNames[name]
		if !ok {
			return 0, badValue(hintSignal, "value %s is not a valid signal name", pyRepr(s))
		}
		return num, nil
	}
	if !validSignalNumber(n) {
		return 0, badValue(hintSignal, "value %s is not a valid signal number", pyRepr(s))
	}
	return int(n), nil
}

func parseExitCodes(s string) ([]int, error) {
	if s == "" {
		return []int{}, nil
	}
	var codes []int
	for _, part := range strings.Split(s, ",") {
		n, err := pyInt(part, 10)
		if err != nil || n < 0 || n > 255 {
			return nil, badValue(hintExit, "not a valid list of exit codes: %s", pyRepr(s))
		}
		codes = append(codes, int(n))
	}
	return codes, nil
}

// Autorestart is a program's autorestart policy.
type Autorestart int

// The autorestart policies.
const (
	AutorestartFalse Autorestart = iota
	AutorestartUnexpected
	AutorestartTrue
)

func (a Autorestart) String() string {
	switch a {
	case AutorestartTrue:
		return "true"
	case AutorestartUnexpected:
		return "unexpected"
	}
	return "false"
}

func parseAutorestart(s string) (Autorestart, error) {
	v := strings.ToLower(s)
	switch v {
	case "yes", "true", "on", "1":
		return AutorestartTrue, nil
	case "no", "false", "off", "0":
		return AutorestartFalse, nil
	case "unexpected":
		return AutorestartUnexpected, nil
	}
	return 0, badValue(hintRestart, "invalid 'autorestart' value %s", pyRepr(v))
}

// parseName checks a program, group or process name.
func parseName(s string) (string, error) {
	t := pyStrip(s)
	for _, c := range []string{" ", ":", "/"} {
		if strings.Contains(t, c) {
			return "", badValue(hintName, "Invalid name: %s because of character: %s", pyRepr(s), pyRepr(c))
		}
	}
	return t, nil
}

// LogLevel is a supervisord log level, by Python's numbers.
type LogLevel int

// Log levels.
const (
	LevelBlather  LogLevel = 3
	LevelTrace    LogLevel = 5
	LevelDebug    LogLevel = 10
	LevelInfo     LogLevel = 20
	LevelWarn     LogLevel = 30
	LevelError    LogLevel = 40
	LevelCritical LogLevel = 50
)

var levelNames = map[string]LogLevel{
	"critical": LevelCritical, "error": LevelError, "warn": LevelWarn,
	"info": LevelInfo, "debug": LevelDebug, "trace": LevelTrace, "blather": LevelBlather,
}

func (l LogLevel) String() string {
	for name, v := range levelNames {
		if v == l {
			return name
		}
	}
	return strconv.Itoa(int(l))
}

func parseLogLevel(s string) (LogLevel, error) {
	if l, ok := levelNames[strings.ToLower(s)]; ok {
		return l, nil
	}
	return 0, badValue(hintLevel, "bad logging level name %s", pyRepr(s))
}

// parseInetAddress reads [host:]port; "" and "*" hosts mean every interface.
func parseInetAddress(s string) (host string, port int, err error) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, p := strings.ToLower(s[:i]), s[i+1:]
		if p == "" {
			return "", 0, badValue(hintPort, "no port number specified in %s", pyRepr(p))
		}
		port, err := parsePortNumber(p)
		if err != nil {
			return "", 0, err
		}
		if host == "*" {
			host = ""
		}
		return host, port, nil
	}
	port, err = parsePortNumber(s)
	if err != nil {
		return "", 0, badValue(hintPort, "not a valid port number: %s ", pyRepr(s))
	}
	return "", port, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := parseInt(s)
	if err != nil {
		return 0, &valueError{Msg: err.Error(), Hint: hintPort}
	}
	if n < 1 {
		return 0, badValue(hintPort, "%d is below lower bound (1)", n)
	}
	if n > 0xffff {
		return 0, badValue(hintPort, "%d is above upper bound (65535)", n)
	}
	return int(n), nil
}

// expandUser expands a leading ~ or ~user as os.path.expanduser does.
func expandUser(p string) string {
	if !strings.HasPrefix(p, "~") {
		return p
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		i = len(p)
	}
	var home string
	if i == 1 {
		home = os.Getenv("HOME")
		if home == "" {
			u, err := user.Current()
			if err != nil {
				return p
			}
			home = u.HomeDir
		}
	} else {
		u, err := user.Lookup(p[1:i])
		if err != nil {
			return p
		}
		home = u.HomeDir
	}
	home = strings.TrimRight(home, "/")
	if home == "" {
		home = "/"
		if i < len(p) {
			home = ""
		}
	}
	return home + p[i:]
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// existingDirectory expands ~ and requires a directory.
func existingDirectory(p string) (string, error) {
	nv := expandUser(p)
	if isDir(nv) {
		return nv, nil
	}
	return "", badValue(hintDir, "%s is not an existing directory", p)
}

// existingDirpath expands ~ and requires the file's directory to exist.
func existingDirpath(p string) (string, error) {
	nv := expandUser(p)
	dir := pyDirname(nv)
	if dir == "" || isDir(dir) {
		return nv, nil
	}
	return "", badValue(hintDir, "The directory named as part of the path %s does not exist", p)
}

// normalizePath is os.path.normpath(os.path.abspath(expanduser(p))).
func normalizePath(p string) string {
	p = expandUser(p)
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err == nil {
			p = filepath.Join(wd, p)
		}
	}
	c := filepath.Clean(p)
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		c = "/" + c // POSIX keeps exactly two leading slashes
	}
	return c
}

func lookupUID(name string) (int, error) {
	if n, err := pyInt(name, 10); err == nil {
		if _, err := user.LookupId(strconv.FormatInt(n, 10)); err != nil {
			return 0, badValue(hintUser, "Invalid user id %s", name)
		}
		return int(n), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, badValue(hintUser, "Invalid user name %s", name)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, badValue(hintUser, "Invalid user name %s", name)
	}
	return uid, nil
}

func lookupGID(name string) (int, error) {
	if n, err := pyInt(name, 10); err == nil {
		if _, err := user.LookupGroupId(strconv.FormatInt(n, 10)); err != nil {
			return 0, fmt.Errorf("Invalid group id %s", name)
		}
		return int(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("Invalid group name %s", name)
	}
	return strconv.Atoi(g.Gid)
}

// primaryGID returns the group of a uid's passwd entry.
func primaryGID(uid int) (int, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Gid)
}

// parseUserGroup reads "user" or "user:group" into (uid, gid); gid is -1
// when no group is given.
func parseUserGroup(s string) (int, int, error) {
	userPart, groupPart, hasGroup := strings.Cut(s, ":")
	uid, err := lookupUID(userPart)
	if err != nil {
		return 0, 0, err
	}
	gid := -1
	if hasGroup {
		if gid, err = lookupGID(groupPart); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

func parseListOfStrings(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = pyStrip(parts[i])
	}
	return parts
}

// ParseSignal reads a signal name ("TERM", "SIGHUP") or number as
// supervisor does.
func ParseSignal(s string) (int, error) { return parseSignal(s) }

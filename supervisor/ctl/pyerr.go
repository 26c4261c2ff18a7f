package ctl

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// pyException is an error as Python's supervisorctl reports an exception
// that no command handles: its class, its text and the innermost source
// line it came from (asyncore.compact_traceback), which for the errors we
// can meet are fixed places in Debian's Python 3.11 and supervisor 4.2.5.
type pyException struct {
	Class string
	Msg   string
	File  string
	Line  int
	Err   error // the Go error behind it, if any
}

func (e *pyException) Error() string {
	return fmt.Sprintf("error: <class '%s'>, %s: file: %s line: %d", e.Class, e.Msg, e.File, e.Line)
}

func (e *pyException) Unwrap() error { return e.Err }

// Where Python raises the exceptions supervisorctl can report.
var (
	srcFaultRaise      = [2]any{pythonLibDir + "/xmlrpc/client.py", 668}
	srcOverflow        = [2]any{pythonLibDir + "/xmlrpc/client.py", 552}
	srcProtocolError   = [2]any{supervisorPythonDir + "/xmlrpc.py", 539}
	srcUnknownProtocol = [2]any{supervisorPythonDir + "/xmlrpc.py", 505}
	srcUnixConnect     = [2]any{supervisorPythonDir + "/xmlrpc.py", 557}
	srcInetConnect     = [2]any{pythonLibDir + "/socket.py", 836}
	srcGetaddrinfo     = [2]any{pythonLibDir + "/socket.py", 962}
	srcPortCast        = [2]any{pythonLibDir + "/urllib/parse.py", 182}
	srcPortRange       = [2]any{pythonLibDir + "/urllib/parse.py", 184}
	srcShutdownPrompt  = [2]any{supervisorPythonDir + "/supervisorctl.py", 987}
	srcReloadPrompt    = [2]any{supervisorPythonDir + "/supervisorctl.py", 1027}
	srcAuthUsername    = [2]any{supervisorPythonDir + "/supervisorctl.py", 212}
	srcAuthPassword    = [2]any{pythonLibDir + "/getpass.py", 148}
)

func newPyException(class, msg string, src [2]any, err error) *pyException {
	return &pyException{Class: class, Msg: msg, File: src[0].(string), Line: src[1].(int), Err: err}
}

// faultRepr is str() of an xmlrpc.client.Fault.
func faultRepr(f *xmlrpc.Fault) string {
	return fmt.Sprintf("<Fault %d: %s>", f.Code, pyRepr(f.String))
}

// errnoClasses are the OSError subclasses Python raises for an errno.
var errnoClasses = map[syscall.Errno]string{
	syscall.ENOENT:       "FileNotFoundError",
	syscall.ECONNREFUSED: "ConnectionRefusedError",
	syscall.ECONNRESET:   "ConnectionResetError",
	syscall.ECONNABORTED: "ConnectionAbortedError",
	syscall.EPIPE:        "BrokenPipeError",
	syscall.ESHUTDOWN:    "BrokenPipeError",
	syscall.EACCES:       "PermissionError",
	syscall.EPERM:        "PermissionError",
	syscall.ETIMEDOUT:    "TimeoutError",
	syscall.EINTR:        "InterruptedError",
	syscall.EAGAIN:       "BlockingIOError",
	syscall.EISDIR:       "IsADirectoryError",
	syscall.ENOTDIR:      "NotADirectoryError",
}

// strerror is C's strerror(3) for errno as glibc words it.
func strerror(errno syscall.Errno) string {
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// toPyException turns an error from a command into the exception Python
// would have raised in its place. unix says the server URL is a unix
// socket, which decides where Python's connect fails.
func toPyException(err error, unix bool) *pyException {
	var pe *pyException
	if errors.As(err, &pe) {
		return pe
	}
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		return newPyException("xmlrpc.client.Fault", faultRepr(f), srcFaultRaise, err)
	}
	var he *xmlrpc.HTTPError
	if errors.As(err, &he) {
		return newPyException("xmlrpc.client.ProtocolError",
			fmt.Sprintf("<ProtocolError for 127.0.0.1/RPC2: %d %s>", he.StatusCode, httpReason(he)), srcProtocolError, err)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return newPyException("socket.gaierror", "[Errno -2] Name or service not known", srcGetaddrinfo, err)
		}
		return newPyException("socket.gaierror", "[Errno -3] Temporary failure in name resolution", srcGetaddrinfo, err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		class, ok := errnoClasses[errno]
		if !ok {
			class = "OSError"
		}
		src := srcInetConnect
		if unix {
			src = srcUnixConnect
		}
		return newPyException(class, fmt.Sprintf("[Errno %d] %s", int(errno), strerror(errno)), src, err)
	}
	// Anything else has no Python counterpart; say what it is.
	return &pyException{Class: "Exception", Msg: err.Error(), File: "?", Line: 0, Err: err}
}

// httpReason is the reason phrase of an HTTP status line.
func httpReason(he *xmlrpc.HTTPError) string {
	if _, reason, ok := strings.Cut(he.Status, " "); ok {
		return reason
	}
	return he.Status
}

// isErrno reports whether err is a failure to reach the server with errno.
func isErrno(err error, errno syscall.Errno) bool {
	var pe *pyException
	if errors.As(err, &pe) && pe.Err == nil {
		return false
	}
	return errors.Is(err, errno)
}

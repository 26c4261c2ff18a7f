package process

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/internal/shlex"
	"github.com/gpudesk/runtime/supervisor/internal/umask"
	"github.com/gpudesk/runtime/supervisor/logfile"
)

// CommandError is a command that cannot be run; NotFound tells a missing
// file from one that is not executable (or cannot be parsed).
type CommandError struct {
	Msg      string
	NotFound bool
}

func (e *CommandError) Error() string { return e.Msg }

// CheckCommand resolves the command without running it, as supervisor's
// startProcess does before spawning.
func (p *Process) CheckCommand() error {
	_, _, err := p.execArgs()
	return err
}

// execArgs resolves the command as supervisor does: shlex split, then a
// PATH search when the program has no '/', then the checks that make a
// missing or non-executable command a spawn error.
func (p *Process) execArgs() (string, []string, error) {
	argv, err := shlex.Split(p.Config.Command)
	if err != nil {
		return "", nil, &CommandError{Msg: fmt.Sprintf("can't parse command %s: %v", pyQuote(p.Config.Command), err)}
	}
	if len(argv) == 0 {
		return "", nil, &CommandError{Msg: "command is empty"}
	}
	program := argv[0]
	filename := program
	var st os.FileInfo
	if strings.Contains(program, "/") {
		st, _ = os.Stat(program)
	} else {
		for _, dir := range p.searchPath() {
			found := filepath.Join(dir, program)
			if s, err := os.Stat(found); err == nil {
				st, filename = s, found
				break
			}
		}
	}
	switch {
	case st == nil:
		return "", nil, &CommandError{Msg: fmt.Sprintf("can't find command %s", pyQuote(filename)), NotFound: true}
	case st.IsDir():
		return "", nil, &CommandError{Msg: fmt.Sprintf("command at %s is a directory", pyQuote(filename))}
	case st.Mode().Perm()&0o111 == 0:
		return "", nil, &CommandError{Msg: fmt.Sprintf("command at %s is not executable", pyQuote(filename))}
	case syscall.Access(filename, 1) != nil: // X_OK
		return "", nil, &CommandError{Msg: fmt.Sprintf("no permission to run command %s", pyQuote(filename))}
	}
	return filename, argv, nil
}

// searchPath is PATH from the program's environment, else the daemon's,
// else supervisor's default.
func (p *Process) searchPath() []string {
	if v, ok := p.Config.Environment.Get("PATH"); ok {
		return strings.Split(v, ":")
	}
	for _, kv := range p.rt.Environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return strings.Split(v, ":")
		}
	}
	return []string{"/bin", "/usr/bin", "/usr/local/bin"}
}

// Env returns the child's environment in supervisor's order: the daemon's,
// then SUPERVISOR_*, then [supervisord] and the program's environment.
func (p *Process) Env() []string {
	env := append([]string(nil), p.rt.Environ...)
	set := func(k, v string) {
		prefix := k + "="
		for i, kv := range env {
			if strings.HasPrefix(kv, prefix) {
				env[i] = prefix + v
				return
			}
		}
		env = append(env, prefix+v)
	}
	set("SUPERVISOR_ENABLED", "1")
	url := p.rt.ServerURL
	if p.Config.ServerURL != nil {
		url = *p.Config.ServerURL
	}
	if url != "" {
		set("SUPERVISOR_SERVER_URL", url)
	}
	set("SUPERVISOR_PROCESS_NAME", p.Config.Name)
	set("SUPERVISOR_GROUP_NAME", p.Config.Group)
	for _, kv := range p.Config.Environment {
		set(kv.Key, kv.Value)
	}
	return env
}

// start forks and execs the program with its pipes, process group,
// credentials, directory and umask.
func (p *Process) start(path string, argv []string) (int, error) {
	c, err := newCapture(p)
	if err != nil {
		return 0, err
	}
	if err := c.openLogs(p); err != nil {
		c.closeAll()
		return 0, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if uid := p.Config.UID; uid >= 0 && uid != p.rt.UID {
		cred, err := credential(uid)
		if err != nil {
			c.closeAll()
			return 0, err
		}
		sys.Credential = cred
	}
	attr := &syscall.ProcAttr{
		Env:   p.Env(),
		Files: []uintptr{uintptr(c.childStdin), uintptr(c.childStdout), uintptr(c.childStderr)},
		Sys:   sys,
	}
	if p.Config.Directory != nil {
		attr.Dir = *p.Config.Directory
	}
	// The umask is the whole daemon's and the child inherits it: no log
	// file may be created (by a rotation, elsewhere) while it is changed.
	var pid int
	umask.Fork(p.Config.Umask, func() { pid, err = syscall.ForkExec(path, argv, attr) })
	c.closeChildEnds()
	if err != nil {
		c.closeAll()
		code := err
		if e, ok := err.(syscall.Errno); ok {
			code = fmt.Errorf("%s", errnoName(e))
		}
		return 0, fmt.Errorf("couldn't exec %s: %v", argv[0], code)
	}
	p.out = c
	c.in = newStdinQueue(p.Config.Name, c.stdin, &c.wg)
	c.stdin = -1 // c.in's now
	p.stdin = c.in
	c.run(p, pid)
	return pid, nil
}

// credential returns uid's credentials with its supplementary groups,
// primary group first, as supervisor sets them.
func credential(uid int) (*syscall.Credential, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, fmt.Errorf("couldn't setuid to %d: Can't find uid %d", uid, uid)
	}
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return cred, nil
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES", syscall.EPERM: "EPERM",
	syscall.ENOEXEC: "ENOEXEC", syscall.ENOTDIR: "ENOTDIR", syscall.ELOOP: "ELOOP",
	syscall.ENAMETOOLONG: "ENAMETOOLONG", syscall.E2BIG: "E2BIG", syscall.ENOMEM: "ENOMEM",
	syscall.ETXTBSY: "ETXTBSY", syscall.EISDIR: "EISDIR", syscall.EMFILE: "EMFILE",
	syscall.ENFILE: "ENFILE", syscall.EAGAIN: "EAGAIN", syscall.EINVAL: "EINVAL",
	syscall.EIO: "EIO", syscall.ELIBBAD: "ELIBBAD",
}

// errnoName returns "ENOENT" for ENOENT, as Python's errno.errorcode.
func errnoName(e syscall.Errno) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return strconv.Itoa(int(e))
}

func pyQuote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// SetLogs says where the process's output goes (see Log). Nothing is
// opened: a log file is open only while the process runs, as in Python.
func (p *Process) SetLogs(stdout, stderr LogTarget) {
	p.Stdout = newLog(p, "stdout", stdout, p.Config.Stdout)
	p.Stderr = newLog(p, "stderr", stderr, p.Config.Stderr)
}

// RemoveLogs deletes the current capture files (not their backups) and,
// while the process runs, starts new ones, as supervisor's
// clearProcessLogs.
func (p *Process) RemoveLogs() error {
	for _, l := range []*Log{p.Stdout, p.Stderr} {
		if l != nil {
			if err := l.remove(); err != nil {
				return err
			}
		}
	}
	return nil
}

// LogPath returns the file a stream is captured in ("" when none, or an
// AUTO file not created yet).
func (p *Process) LogPath(stderr bool) string {
	l := p.Stdout
	if stderr {
		l = p.Stderr
	}
	if l == nil {
		return ""
	}
	return l.Path()
}

// LogLost returns how many bytes of a stream's output were lost to log
// write faults (a full disk, a missing folder) since the log was set.
func (p *Process) LogLost(stderr bool) int64 {
	l := p.Stdout
	if stderr {
		l = p.Stderr
	}
	if l == nil {
		return 0
	}
	return l.Lost()
}

// CloseLogs closes the capture files now, even if output of the last run
// is still being drained (it is then dropped).
func (p *Process) CloseLogs() {
	for _, l := range []*Log{p.Stdout, p.Stderr} {
		if l != nil {
			l.Close()
		}
	}
}

// capture holds the pipes of a running child and the goroutines copying
// its output into the logs.
type capture struct {
	in     *stdinQueue // writes c.stdin once the child runs
	stdin  int         // our end of the child's stdin until in has it, or -1
	stdout *outPipe    // nil when nothing reads stdout
	stderr *outPipe    // nil when redirected or nothing reads it
	// The child's ends (-1: none yet): pipes, or the shared /dev/null
	// (devNull), which is never closed. Bare descriptors: an *os.File
	// would register each with Go's poller for nothing.
	childStdin, childStdout, childStderr int
	outLog, errLog                       *Log
	outW, errW                           *logfile.Writer // the logs' files, held open for this run
	wg                                   sync.WaitGroup
	// readers counts the copying goroutines still reading; the last one
	// closes done (see OutputDone).
	readers atomic.Int32
	done    chan struct{}
}

// openLogs opens the log files for this run, as Python's dispatchers do
// at each spawn. A log that cannot be opened (a missing folder, no
// descriptors left) is a spawn error, never a dead daemon.
func (c *capture) openLogs(p *Process) error {
	var err error
	if c.outLog != nil {
		if c.outW, err = c.outLog.open(); err != nil {
			return logOpenErr(p, c.outLog, err)
		}
	}
	if c.errLog != nil {
		if c.errW, err = c.errLog.open(); err != nil {
			return logOpenErr(p, c.errLog, err)
		}
	}
	return nil
}

// logOpenErr logs why a log cannot be opened, naming the file, and
// returns Python's spawn error.
func logOpenErr(p *Process, l *Log, err error) error {
	p.logf(config.LevelWarn, "%s: cannot open its %s log: %v", p.Config.Name, l.channel, err)
	return spawnPipeErr(p, err)
}

// releaseLogs lets go of the files this run holds.
func (c *capture) releaseLogs() {
	if c.outW != nil {
		c.outLog.release(c.outW)
		c.outW = nil
	}
	if c.errW != nil {
		c.errLog.release(c.errW)
		c.errW = nil
	}
}

// needsPipe reports whether anything reads a stream: a log file, events,
// capture mode or the event listener protocol. A stream nobody reads goes
// straight to /dev/null, which costs no goroutine and no memory (Python
// reads and discards it; the child cannot tell the difference).
func (p *Process) needsPipe(o config.OutputLog, l *Log, stdout bool) bool {
	return l != nil || o.EventsEnabled || o.CaptureMaxBytes > 0 ||
		(stdout && p.Config.Kind() == config.KindEventListener) ||
		logsOutput(p.rt.Log) // at debug, every chunk goes to the daemon log
}

func newCapture(p *Process) (*capture, error) {
	c := &capture{outLog: p.Stdout, errLog: p.Stderr, done: make(chan struct{}),
		stdin: -1, childStdin: -1, childStdout: -1, childStderr: -1}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, spawnPipeErr(p, err)
	}
	c.childStdin, c.stdin = fds[0], fds[1]
	var err error
	outPipe := p.needsPipe(p.Config.Stdout, p.Stdout, true)
	errPipe := p.needsPipe(p.Config.Stderr, p.Stderr, false)
	if p.Config.RedirectStderr {
		errPipe = false
	}
	if outPipe {
		c.stdout, c.childStdout, err = newOutPipe()
	} else {
		c.childStdout, err = devNull()
	}
	if err != nil {
		c.closeAll()
		return nil, spawnPipeErr(p, err)
	}
	switch {
	case p.Config.RedirectStderr:
		c.childStderr = c.childStdout
	case errPipe:
		c.stderr, c.childStderr, err = newOutPipe()
	default:
		c.childStderr, err = devNull()
	}
	if err != nil {
		c.closeAll()
		return nil, spawnPipeErr(p, err)
	}
	return c, nil
}

// readBufs lends read buffers to the capture goroutines only while they
// read, so a thousand idle processes do not each hold one.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// pipeSize is the capacity asked for the output pipes (Linux allows up to
// /proc/sys/fs/pipe-max-size, 1 MiB by default). With the pause below, a
// child writing a line per write(2) never waits for us, and we read it in a
// few large pieces instead of one per line. The kernel allocates the pages
// only as they fill, so idle pipes cost nothing.
const pipeSize = 1 << 20

// shortReadPause lets a writer finish what it is writing after a short
// read; maxReadPause bounds the longer pause given to a fast writer (see
// readPause).
const (
	shortReadPause = time.Millisecond
	maxReadPause   = 10 * time.Millisecond
)

// pipeCap returns the capacity of the pipe fd (64 KiB when unknown).
func pipeCap(fd uintptr) int {
	n, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, 1032 /* F_GETPIPE_SZ */, 0)
	if e != 0 || int(n) <= 0 {
		return 64 << 10
	}
	return int(n)
}

// readPause is how long to wait after a short read of n bytes, the
// previous read having ended since ago. Each wake-up of the daemon costs
// it two context switches and a pass of Go's scheduler, which for a child
// writing one line per write(2) is most of what capture costs (profiled:
// the copying is a few per cent). A writer that filled a good part of the
// pipe meanwhile gets the time to fill about half of it at the rate it
// writes, so the daemon wakes a few times per MB instead of a few times
// per 100 KB; it never waits long enough to block the writer on a full
// pipe, and a slow writer is read after shortReadPause as before.
func readPause(n, capacity int, since time.Duration) time.Duration {
	if n < 16<<10 || since <= 0 {
		return shortReadPause
	}
	pause := time.Duration(float64(since) * float64(capacity/2) / float64(n))
	return min(max(pause, shortReadPause), maxReadPause)
}

// copyOut reads r until EOF (or closeLater's time) into st. The goroutine
// waits in the capture poller without a buffer: one is taken from readBufs
// only when the pipe is readable.
func copyOut(r *outPipe, st *stream) {
	capacity := pipeCap(uintptr(r.fd))
	last := time.Now()
	for {
		buf := readBufs.Get().(*[]byte)
		n, err := r.read(*buf)
		if n > 0 {
			st.write((*buf)[:n])
		}
		size := len(*buf)
		readBufs.Put(buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if r.expired() || !r.waitReadable() {
				return
			}
			// Readable after a wait: let the writer finish what it is
			// writing, so that a burst of small writes ("RESULT 2\nOK"
			// then "READY\n") is read, and logged at debug, as one chunk,
			// as Python's poll loop reads it.
			time.Sleep(shortReadPause)
			last = time.Now()
			continue
		case err != nil || n == 0:
			return // EOF, or the pipe is unusable
		}
		if r.expired() {
			return
		}
		now := time.Now()
		if n < size {
			time.Sleep(readPause(n, capacity, now.Sub(last)))
		}
		last = now
	}
}

// spawnPipeErr is Python's spawn error for pipes or log files that
// cannot be made.
func spawnPipeErr(p *Process, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("unknown error making dispatchers for '%s': %v", p.Config.Name, err)
	}
	if errno == syscall.EMFILE {
		return fmt.Errorf("too many open files to spawn '%s'", p.Config.Name)
	}
	return fmt.Errorf("unknown error making dispatchers for '%s': %s", p.Config.Name, errnoName(errno))
}

// run starts the goroutines copying output into the logs; each closes
// its log file (unless another run still uses it) once its pipe is
// drained.
func (c *capture) run(p *Process, pid int) {
	copyTo := func(r *outPipe, st *stream, release func()) {
		defer c.wg.Done()
		defer func() {
			if c.readers.Add(-1) == 0 {
				close(c.done)
			}
		}()
		defer release()
		defer st.closed(r.fd) // logged once the read end is closed
		defer r.close()
		copyOut(r, st)
	}
	outW, errW := c.outW, c.errW
	c.outW, c.errW = nil, nil // from here the goroutines own them
	releaseOut := func() {
		if outW != nil {
			c.outLog.release(outW)
		}
	}
	releaseErr := func() {
		if errW != nil {
			c.errLog.release(errW)
		}
	}
	readers := 0
	for _, r := range []*outPipe{c.stdout, c.stderr} {
		if r != nil {
			readers++
		}
	}
	c.readers.Store(int32(readers))
	if readers == 0 {
		close(c.done)
	}
	if c.stdout != nil {
		c.wg.Add(1)
		go copyTo(c.stdout, newStream(p, pid, "stdout", outW), releaseOut)
	} else {
		releaseOut()
	}
	if c.stderr != nil {
		c.wg.Add(1)
		go copyTo(c.stderr, newStream(p, pid, "stderr", errW), releaseErr)
	} else {
		releaseErr()
	}
}

func (c *capture) closeChildEnds() {
	nullMu.Lock()
	null := nullFd // not opened here: a spawn that failed before may not have
	nullMu.Unlock()
	closed := [3]int{-1, -1, -1}
	for i, fd := range [3]int{c.childStdin, c.childStdout, c.childStderr} {
		// stderr is stdout's descriptor with redirect_stderr
		if fd >= 0 && fd != null && fd != closed[0] && fd != closed[1] {
			syscall.Close(fd)
			closed[i] = fd
		}
	}
	c.childStdin, c.childStdout, c.childStderr = -1, -1, -1
}

// devNull returns a descriptor of /dev/null open for writing, opened once
// and shared by every child whose output nobody reads (two opens and two
// closes fewer per spawn). It is never closed; an open that fails (no
// descriptors left) is tried again at the next spawn.
func devNull() (int, error) {
	nullMu.Lock()
	defer nullMu.Unlock()
	if nullFd < 0 {
		fd, err := syscall.Open(os.DevNull, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return -1, os.NewSyscallError("open", err)
		}
		nullFd = fd
	}
	return nullFd, nil
}

var (
	nullMu sync.Mutex
	nullFd = -1
)

func (c *capture) closeAll() {
	c.releaseLogs()
	c.closeChildEnds()
	if c.stdin >= 0 {
		syscall.Close(c.stdin)
		c.stdin = -1
	}
	for _, r := range []*outPipe{c.stdout, c.stderr} {
		if r != nil {
			r.close() // no reader runs yet: the spawn failed
		}
	}
}

// drainGrace is how long output still arriving after an exit (from the
// last writes, or a grandchild holding the pipe) is captured.
const drainGrace = 200 * time.Millisecond

// closePipes stops capturing a finished process: what is in the pipes is
// still read, then the read ends close.
func (p *Process) closePipes() {
	c := p.out
	if c == nil {
		return
	}
	p.out, p.stdin, p.lastOut = nil, nil, c
	c.in.close()
	deadline := time.Now().Add(drainGrace)
	for _, r := range []*outPipe{c.stdout, c.stderr} {
		if r != nil {
			r.closeLater(deadline)
		}
	}
}

// OutputDone returns a channel that is closed once the output of the
// current or last run has been read to its end (EOF, or drainGrace after
// the exit) and logged; nil when there was no run. Call it on the loop.
func (p *Process) OutputDone() <-chan struct{} {
	for _, c := range []*capture{p.out, p.lastOut} {
		if c != nil {
			return c.done
		}
	}
	return nil
}

// WaitOutput waits until the output of the last run is in the logs.
func (p *Process) WaitOutput() {
	for _, c := range []*capture{p.out, p.lastOut} {
		if c != nil {
			c.wg.Wait()
		}
	}
}

// WriteStdin queues b for the process's stdin and returns at once: the
// event loop never waits for a child to read. It fails when the process
// is not running, when the child closed its stdin (an error wrapping
// EPIPE, as Python reports it) and with ErrStdinFull when MaxStdinQueue
// bytes still wait to be read.
func (p *Process) WriteStdin(b []byte) error {
	if p.stdin == nil || p.pid == 0 {
		return fmt.Errorf("process '%s' is not running", p.Config.Name)
	}
	return p.stdin.write(b)
}

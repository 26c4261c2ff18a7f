package process

import (
	"os"
	"sync"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/internal/umask"
	"github.com/gpudesk/runtime/supervisor/logfile"
)

// LogTarget is where a stream is captured: the file Path, or, when Path
// is "" and AutoDir is set, an AUTO file that os.CreateTemp makes in
// AutoDir from AutoPattern (the daemon names AUTO files up front, as
// Python does; one it could not create is tried again at each start). The
// zero LogTarget is nowhere.
type LogTarget struct {
	Path        string
	AutoDir     string
	AutoPattern string
}

// Log is one output stream's destination file. It is open only while a
// run of the process writes to it: from the spawn until that run's output
// is drained, as Python's dispatchers hold their files. A stopped process
// holds no file, so thousands of configured programs cost no descriptors
// and deleting a stopped program's log frees its space.
type Log struct {
	rt       *Runtime
	name     string // the process, for the daemon log
	channel  string
	target   LogTarget
	maxBytes int64
	backups  int

	mu    sync.Mutex
	path  string
	w     *logfile.Writer // nil while closed
	users int             // runs writing to w (a new run may start while the last one drains)
	lost  int64           // bytes lost by writers already closed
}

func newLog(p *Process, channel string, t LogTarget, o config.OutputLog) *Log {
	if t.Path == "" && t.AutoDir == "" {
		return nil
	}
	return &Log{rt: p.rt, name: p.Config.Name, channel: channel, target: t,
		maxBytes: o.MaxBytes, backups: o.Backups, path: t.Path}
}

// Path returns the file's path ("" for an AUTO file not created yet).
func (l *Log) Path() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.path
}

// Lost returns the bytes of output lost to write faults.
func (l *Log) Lost() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		return l.lost + l.w.Lost()
	}
	return l.lost
}

// open returns the writer for a new run, opening the file when no run
// holds it. A writer still open from the last run that is failing is
// reopened: a spawn is a chance to recover, as in Python.
func (l *Log) open() (*logfile.Writer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		l.users++
		if l.w.Fault() != nil {
			l.w.Reopen() // a failure is noticed and retried by the writer
		}
		return l.w, nil
	}
	if l.path == "" {
		var f *os.File
		var err error
		umask.Create(func() { f, err = os.CreateTemp(l.target.AutoDir, l.target.AutoPattern) })
		if err != nil {
			return nil, err
		}
		f.Close()
		l.path = f.Name()
	}
	w, err := logfile.Open(l.path, l.maxBytes, l.backups)
	if err != nil {
		return nil, err
	}
	w.SetNotify(l.notice)
	l.w, l.users = w, 1
	return w, nil
}

// release ends a run's use of w; the last one closes the file.
func (l *Log) release(w *logfile.Writer) {
	l.mu.Lock()
	if l.w != w {
		l.mu.Unlock()
		return // closed meanwhile by Close
	}
	if l.users--; l.users > 0 {
		l.mu.Unlock()
		return
	}
	l.w = nil
	l.lost += w.Lost()
	l.mu.Unlock()
	w.Close()
}

// Reopen reopens the file if it is open (SIGUSR2), which also ends a
// write fault whose cause is gone.
func (l *Log) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock() // so that a run ending meanwhile cannot close w under us
	if l.w == nil {
		return nil
	}
	return l.w.Reopen()
}

// remove clears the log as clearProcessLogs does. While a run writes to
// it the file is deleted and a new one started, as in Python. Python does
// nothing for a stopped process (it has no dispatchers), which leaves the
// log that was asked to be cleared; here its file is emptied instead, and
// kept, so that it reads as an empty log, as a never-started AUTO one does.
func (l *Log) remove() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path == "" {
		return nil
	}
	if l.w == nil {
		if err := os.Truncate(l.path, 0); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	if err := os.Remove(l.path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return l.w.Reopen()
}

// Close closes the file now, whoever still writes to it.
func (l *Log) Close() {
	l.mu.Lock()
	w := l.w
	l.w, l.users = nil, 0
	if w != nil {
		l.lost += w.Lost()
	}
	l.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// notice puts a writer's fault or recovery in the daemon log: CRIT when
// output starts being lost, WARN with the count when it stops (the writer
// rate-limits them).
func (l *Log) notice(n logfile.Notice) {
	switch {
	case n.Closed && n.Err != nil:
		l.rt.Log.Log(config.LevelWarn, "%s: %s log %s closed while failing (%v); %d bytes of output were lost", l.name, l.channel, n.Path, n.Err, n.Lost)
	case n.Closed:
		l.rt.Log.Log(config.LevelWarn, "%s: %s log %s closed; %d bytes of output were lost", l.name, l.channel, n.Path, n.Lost)
	case n.Err != nil:
		l.rt.Log.Log(config.LevelCritical, "%s: %s log failed, its output is dropped and counted until the log can be written again: %v", l.name, l.channel, n.Err)
	default:
		l.rt.Log.Log(config.LevelWarn, "%s: %s log %s is written again; %d bytes of output were lost", l.name, l.channel, n.Path, n.Lost)
	}
}

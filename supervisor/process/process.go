// Package process is one supervised process's life, as Python supervisor
// 4.2.5 lives it: the states STOPPED, STARTING, RUNNING, BACKOFF, STOPPING,
// EXITED and FATAL and the transitions between them, spawning (command
// lookup, process group, user, environment, directory, umask), output
// capture, and the stop sequence.
//
// A Process is not safe for concurrent use: the daemon's event loop owns
// every Process and calls Spawn, Stop, Kill, Finish and Transition from one
// goroutine. Reaping is the daemon's job; it hands each exit status to
// Finish.
package process

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
)

// State is a process state, with supervisor's numeric codes.
type State int

// Process states.
const (
	Stopped  State = 0
	Starting State = 10
	Running  State = 20
	Backoff  State = 30
	Stopping State = 40
	Exited   State = 100
	Fatal    State = 200
	Unknown  State = 1000
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "STOPPED"
	case Starting:
		return "STARTING"
	case Running:
		return "RUNNING"
	case Backoff:
		return "BACKOFF"
	case Stopping:
		return "STOPPING"
	case Exited:
		return "EXITED"
	case Fatal:
		return "FATAL"
	}
	return "UNKNOWN"
}

// IsStopped reports whether s counts as stopped (not running and not about
// to run): STOPPED, EXITED, FATAL or UNKNOWN.
func (s State) IsStopped() bool {
	return s == Stopped || s == Exited || s == Fatal || s == Unknown
}

// Mood is the daemon's state: while it is not Running, nothing is started.
type Mood int

// Daemon moods, with supervisor's codes.
const (
	MoodShutdown   Mood = -1
	MoodRestarting Mood = 0
	MoodRunning    Mood = 1
)

// Logger is the daemon's log.
type Logger interface {
	Log(level config.LogLevel, format string, args ...any)
}

// Runtime is what processes share with the daemon.
type Runtime struct {
	Log Logger
	// OnState is called after every state change.
	OnState func(p *Process, from, to State, expected bool)
	// ServerURL is SUPERVISOR_SERVER_URL unless the program sets serverurl.
	ServerURL string
	// Environ is the daemon's own environment, the base of every child's.
	Environ []string
	// UID is the daemon's uid: only root may switch users.
	UID int
	// StripANSI removes ANSI escapes from captured output ([supervisord]
	// strip_ansi).
	StripANSI bool
	// Gate says whether a process may be spawned now (nil: always).
	Gate Gate
	// Output receives, from the capture goroutines, what the event system
	// needs: output of streams with events enabled (Kind "log"), text
	// between the XSUPERVISOR tokens ("comm"), and an event listener's
	// stdout ("listener"). It must not block for long.
	Output func(o Output)
}

// Output is a piece of a process's output for the event system.
type Output struct {
	Process *Process
	PID     int
	Kind    string // "log", "comm" or "listener"
	Channel string // "stdout" or "stderr"
	Data    []byte
}

// Process is one process of a group.
type Process struct {
	Config *config.Process
	rt     *Runtime

	state State
	// shownState mirrors state for the capture goroutines, which name it
	// in debug lines (Python's "<Subprocess … in state RUNNING>").
	shownState atomic.Int32
	pid        int
	laststart  time.Time
	laststop   time.Time
	lastreport time.Time
	delay      time.Time // when the next timed transition is due (zero: none)
	backoff    int
	spawnErr   string
	exitStatus int
	hasExited  bool
	killing    bool

	// Start order and readiness (see readiness.go): why the process
	// waits unspawned, the ready check's last verdict and reason, when it
	// became READY, and the failure of a start that was not ready in time
	// (set while that start is being stopped).
	waiting   string
	ready     bool
	note      string
	readyAt   time.Time
	failStart string
	begun     bool // started or made to wait once: autostart is done

	out     *capture
	lastOut *capture // the finished run's, until its output is drained
	stdin   *stdinQueue
	Stdout  *Log // where stdout goes (nil: nowhere)
	Stderr  *Log
	started int // spawn count, for tests and events
}

// New returns a STOPPED process.
func New(cfg *config.Process, rt *Runtime) *Process {
	return &Process{Config: cfg, rt: rt, state: Stopped}
}

// Name is the process name; Group its group's.
func (p *Process) Name() string  { return p.Config.Name }
func (p *Process) Group() string { return p.Config.Group }

// State returns the current state.
func (p *Process) State() State { return p.state }

// PID returns the pid, or 0 when not running.
func (p *Process) PID() int { return p.pid }

// SpawnErr returns the last spawn error ("" when none).
func (p *Process) SpawnErr() string { return p.spawnErr }

// ExitStatus returns the last exit status (-1 for death by signal).
func (p *Process) ExitStatus() int { return p.exitStatus }

// Killing reports whether a stop is under way.
func (p *Process) Killing() bool { return p.killing }

// StopReport logs "waiting for x to stop" at most every 2 seconds while
// the process is STOPPING, as supervisor does while a client waits.
func (p *Process) StopReport(now time.Time) {
	if p.state == Stopping && now.After(p.lastreport.Add(2*time.Second)) {
		p.logf(config.LevelInfo, "waiting for %s to stop", p.Config.Name)
		p.lastreport = now
	}
}

// Backoff is the number of failed starts in a row.
func (p *Process) Backoff() int { return p.backoff }

// LastStart and LastStop are when the process last started and stopped.
func (p *Process) LastStart() time.Time { return p.laststart }
func (p *Process) LastStop() time.Time  { return p.laststop }

func (p *Process) logf(level config.LogLevel, format string, args ...any) {
	p.rt.Log.Log(level, format, args...)
}

func (p *Process) changeState(to State, expected bool, now time.Time) {
	from := p.state
	if from == to {
		return
	}
	p.state = to
	p.shownState.Store(int32(to))
	if to == Backoff {
		p.backoff++
		p.delay = now.Add(time.Duration(p.backoff) * time.Second)
	}
	if p.rt.OnState != nil {
		p.rt.OnState(p, from, to, expected)
	}
}

func (p *Process) recordSpawnErr(msg string) {
	p.spawnErr = msg
	p.logf(config.LevelInfo, "spawnerr: %s", msg)
}

// Spawn starts the process: STARTING, then the fork, or BACKOFF with a
// spawn error. It returns the new pid, or 0.
func (p *Process) Spawn(now time.Time) int {
	name := p.Config.Name
	if p.pid != 0 {
		p.logf(config.LevelWarn, "process '%s' already running", name)
		return 0
	}
	p.killing = false
	p.spawnErr = ""
	p.hasExited = false
	p.exitStatus = 0
	p.laststart = now
	p.waiting, p.ready, p.note, p.readyAt, p.failStart = "", false, "", time.Time{}, ""
	p.changeState(Starting, true, now)

	fail := func(msg string) int {
		p.recordSpawnErr(msg)
		p.changeState(Backoff, true, now)
		return 0
	}
	path, argv, err := p.execArgs()
	if err != nil {
		return fail(err.Error())
	}
	if p.Config.UID >= 0 && p.Config.UID != p.rt.UID && p.rt.UID != 0 {
		return fail(fmt.Sprintf("couldn't setuid to %d: Can't drop privilege as nonroot user", p.Config.UID))
	}
	if dir := p.Config.Directory; dir != nil {
		if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
			code := syscall.ENOENT
			if err == nil {
				code = syscall.ENOTDIR
			} else if pe, ok := err.(*os.PathError); ok {
				if e, ok := pe.Err.(syscall.Errno); ok {
					code = e
				}
			}
			return fail(fmt.Sprintf("couldn't chdir to %s: %s", *dir, errnoName(code)))
		}
	}
	pid, err := p.start(path, argv)
	if err != nil {
		return fail(err.Error())
	}
	p.pid = pid
	p.started++
	p.logf(config.LevelInfo, "spawned: '%s' with pid %d", name, pid)
	p.spawnErr = ""
	p.delay = now.Add(time.Duration(p.Config.StartSecs) * time.Second)
	return pid
}

// Stop is an administrative stop: the stop signal, then STOPPING.
func (p *Process) Stop(now time.Time) string {
	p.lastreport = time.Time{}
	return p.Kill(p.Config.StopSignal, now)
}

// Kill sends sig intending the process to exit. A BACKOFF process goes to
// STOPPED at once. It returns an error message, or "".
func (p *Process) Kill(sig int, now time.Time) string {
	name := p.Config.Name
	if p.state == Backoff {
		p.logf(config.LevelDebug, "Attempted to kill %s, which is in BACKOFF state.", name)
		p.changeState(Stopped, true, now)
		return ""
	}
	if p.state == Starting && p.pid == 0 {
		// Waiting for its dependencies: nothing to signal.
		p.logf(config.LevelDebug, "Attempted to kill %s, which is waiting to start (%s).", name, p.waiting)
		p.waiting = ""
		p.changeState(Stopped, true, now)
		return ""
	}
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to kill %s with sig %s but it wasn't running", name, SignalName(sig))
		p.logf(config.LevelDebug, "%s", msg)
		return msg
	}
	asGroup := p.Config.StopAsGroup
	if p.state == Stopping {
		asGroup = p.Config.KillAsGroup
	}
	groupText := ""
	if asGroup {
		groupText = "process group "
	}
	p.logf(config.LevelDebug, "killing %s (pid %d) %swith signal %s", name, p.pid, groupText, SignalName(sig))
	p.killing = true
	p.delay = now.Add(time.Duration(p.Config.StopWaitSecs) * time.Second)
	p.changeState(Stopping, true, now)
	target := p.pid
	if asGroup {
		target = -p.pid
	}
	if err := syscall.Kill(target, syscall.Signal(sig)); err != nil {
		if err == syscall.ESRCH {
			p.logf(config.LevelDebug, "unable to signal %s (pid %d), it probably just exited on its own: %v", name, p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem killing %s (%d):%v", name, p.pid, err)
		p.logf(config.LevelCritical, "%s", msg)
		p.changeState(Unknown, true, now)
		p.killing = false
		p.delay = time.Time{}
		return msg
	}
	return ""
}

// Signal sends sig without intending the process to exit.
func (p *Process) Signal(sig int, now time.Time) string {
	name := p.Config.Name
	if p.pid == 0 {
		msg := fmt.Sprintf("attempted to send %s sig %s but it wasn't running", name, SignalName(sig))
		p.logf(config.LevelDebug, "%s", msg)
		return msg
	}
	p.logf(config.LevelDebug, "sending %s (pid %d) sig %s", name, p.pid, SignalName(sig))
	if err := syscall.Kill(p.pid, syscall.Signal(sig)); err != nil {
		if err == syscall.ESRCH {
			p.logf(config.LevelDebug, "unable to signal %s (pid %d), it probably just now exited on its own: %v", name, p.pid, err)
			return ""
		}
		msg := fmt.Sprintf("unknown problem sending sig %s (%d):%v", name, p.pid, err)
		p.logf(config.LevelCritical, "%s", msg)
		p.changeState(Unknown, true, now)
		return msg
	}
	return ""
}

// GiveUp moves a BACKOFF process to FATAL.
func (p *Process) GiveUp(now time.Time) {
	p.delay = time.Time{}
	p.backoff = 0
	p.changeState(Fatal, true, now)
}

// Finish records the exit of the process, as reaped by the daemon.
func (p *Process) Finish(status syscall.WaitStatus, now time.Time) {
	p.closePipes()
	es, msg := DecodeWaitStatus(status)
	name := p.Config.Name
	p.laststop = now
	tooQuickly := now.Sub(p.laststart) < time.Duration(p.Config.StartSecs)*time.Second
	expected := false
	for _, c := range p.Config.ExitCodes {
		if c == es {
			expected = true
		}
	}
	switch {
	case p.killing && p.failStart != "":
		// Stopped because it was not ready in time: a failed start.
		p.killing = false
		p.exitStatus, p.hasExited = 0, false
		p.spawnErr, p.failStart = p.failStart, ""
		p.changeState(Backoff, true, now)
		p.logf(config.LevelWarn, "exited: %s (%s; not ready in time)", name, msg)
	case p.killing:
		p.killing = false
		p.delay = time.Time{}
		p.exitStatus, p.hasExited = es, true
		p.changeState(Stopped, true, now)
		level := config.LevelWarn
		if expected {
			level = config.LevelInfo
		}
		p.logf(level, "stopped: %s (%s)", name, msg)
	case tooQuickly:
		p.exitStatus, p.hasExited = 0, false
		p.spawnErr = "Exited too quickly (process log may have details)"
		p.changeState(Backoff, true, now)
		p.logf(config.LevelWarn, "exited: %s (%s; not expected)", name, msg)
	default:
		p.delay = time.Time{}
		p.backoff = 0
		p.exitStatus, p.hasExited = es, true
		if p.state == Starting {
			p.changeState(Running, true, now)
		}
		if expected {
			p.changeState(Exited, true, now)
			p.logf(config.LevelInfo, "exited: %s (%s; expected)", name, msg)
		} else {
			p.spawnErr = fmt.Sprintf("Bad exit code %d", es)
			p.changeState(Exited, false, now)
			p.logf(config.LevelWarn, "exited: %s (%s; not expected)", name, msg)
		}
	}
	p.pid = 0
	p.ready, p.readyAt = false, time.Time{}
}

// Transition makes the timed and automatic moves: autostart, autorestart,
// retries after BACKOFF, STARTING → RUNNING after startsecs, BACKOFF →
// FATAL after startretries, and SIGKILL after stopwaitsecs. It returns the
// pid of a process it spawned, or 0.
func (p *Process) Transition(now time.Time, mood Mood) int {
	state := p.state
	pid := 0
	if mood > MoodRestarting {
		switch {
		case state == Exited:
			switch p.Config.Autorestart {
			case config.AutorestartTrue:
				pid = p.begin(now)
			case config.AutorestartUnexpected:
				if !p.expectedExit() {
					pid = p.begin(now)
				}
			}
		case state == Stopped && p.laststart.IsZero() && !p.begun:
			if p.Config.Autostart {
				pid = p.begin(now)
			}
		case state == Backoff:
			if p.backoff <= p.Config.StartRetries && now.After(p.delay) {
				pid = p.begin(now)
			}
		case state == Starting && p.pid == 0 && p.waiting != "":
			pid = p.waitingTransition(now)
		}
	}
	name := p.Config.Name
	if state == Starting && p.pid != 0 {
		p.startedTransition(now)
	}
	switch state {
	case Backoff:
		if p.backoff > p.Config.StartRetries {
			p.GiveUp(now)
			p.logf(config.LevelInfo, "gave up: %s entered FATAL state, too many start retries too quickly", name)
		}
	case Stopping:
		if !now.Before(p.delay) {
			p.logf(config.LevelWarn, "killing '%s' (%d) with SIGKILL", name, p.pid)
			p.Kill(int(syscall.SIGKILL), now)
		}
	}
	return pid
}

func (p *Process) expectedExit() bool {
	for _, c := range p.Config.ExitCodes {
		if c == p.exitStatus {
			return true
		}
	}
	return false
}

// NextDeadline returns when Transition next has timed work to do, or the
// zero time when nothing is scheduled.
func (p *Process) NextDeadline() time.Time {
	switch p.state {
	case Starting:
		if p.pid == 0 {
			return time.Time{} // waiting: the gate opens on a state change
		}
		// "more than startsecs": a tick past the boundary.
		return p.startedDeadline()
	case Backoff:
		if p.backoff > p.Config.StartRetries {
			return time.Unix(0, 1) // give up now
		}
		return p.delay.Add(time.Millisecond)
	case Stopping:
		return p.delay
	}
	return time.Time{}
}

// DecodeWaitStatus returns supervisor's exit status (-1 for a signal) and
// description of a wait status.
func DecodeWaitStatus(ws syscall.WaitStatus) (int, string) {
	switch {
	case ws.Exited():
		es := ws.ExitStatus()
		return es, fmt.Sprintf("exit status %d", es)
	case ws.Signaled():
		msg := "terminated by " + SignalName(int(ws.Signal()))
		if ws.CoreDump() {
			msg += " (core dumped)"
		}
		return -1, msg
	}
	return -1, fmt.Sprintf("unknown termination cause 0x%04x", int(ws))
}

// SignalName returns "SIGTERM" for 15, as Python's signame.
func SignalName(sig int) string {
	name := config.SignalName(sig)
	if name == fmt.Sprint(sig) {
		return fmt.Sprintf("signal %d", sig)
	}
	return "SIG" + name
}

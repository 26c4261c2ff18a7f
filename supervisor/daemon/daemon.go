// Package daemon is supervisord: the process table, groups and priorities,
// the event loop that starts, restarts and stops processes, signals, the
// pidfile, and the duties of PID 1 (reaping every orphan without taking a
// managed child's exit status from its owner).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/events"
	"github.com/gpudesk/runtime/supervisor/internal/umask"
	"github.com/gpudesk/runtime/supervisor/process"
)

// Options are what the command line adds to a configuration.
type Options struct {
	// Reload is called on SIGHUP to read the configuration again. A nil
	// Reload, or one that fails, keeps the running configuration.
	Reload func() (*config.Config, error)
	// JSONLog writes the daemon log as JSON lines (zerolog).
	JSONLog bool
	// Handler makes the HTTP handler served on the configured
	// [unix_http_server] and [inet_http_server] (the XML-RPC API).
	Handler func(*Daemon) http.Handler
}

// Group is a running process group.
type Group struct {
	Config    *config.Group
	Processes []*process.Process // in the configuration's order
	pool      *events.Pool       // event listener pools only
}

// Daemon is a running supervisord.
type Daemon struct {
	cfg    *config.Config
	opts   Options
	log    *Logger
	rt     *process.Runtime
	groups []*Group // sorted by priority then name
	pids   map[int]*process.Process
	mood   process.Mood

	stopping       bool
	stopGroups     []*Group
	lastShutReport time.Time

	// SIGHUP storms: loopStarted is when the loop last (re)started;
	// hupPending is a restart asked for by SIGHUPs that came while one was
	// under way, due once none has come for hupQuiet since lastHup.
	loopStarted time.Time
	hupPending  bool
	lastHup     time.Time

	// exits carries SIGTERM, SIGINT and SIGQUIT; signals SIGHUP and
	// SIGUSR2; chld SIGCHLD. Each apart, so that a flood of one (a SIGHUP
	// storm while a restart does not read them, a crowd of exits) cannot
	// crowd out a stop request: the channels drop signals when full.
	exits   chan os.Signal
	signals chan os.Signal
	chld    chan os.Signal

	// calls carries work from other goroutines (the RPC server) onto the
	// event loop, which owns all of the state above.
	calls chan call
	// known is the configuration's groups as last read (reloadConfig
	// replaces it without touching the running groups, as Python does).
	known []*config.Group

	// loopDone is closed when the running loop has returned (nil before
	// the first): Do then answers ErrStopped instead of waiting for a loop
	// that will never take its function.
	loopMu   sync.Mutex
	loopDone chan struct{}

	changeMu sync.Mutex
	changed  chan struct{} // closed at the next state change

	servers []*server
	// retired are the processes of removed groups, whose capture
	// goroutines may still drain their pipes.
	retired []*process.Process

	// watch_config: file events, the time to read the files again, and
	// groups waiting to be removed (nil) or replaced once stopped.
	watcher     *fsnotify.Watcher
	watchEvents chan struct{}
	watchWG     sync.WaitGroup // the goroutine reading watcher
	// sigchldWG tracks the goroutines holding a SIGCHLD debug line until
	// the reaped children's output is logged (see logSIGCHLD).
	sigchldWG    sync.WaitGroup
	applyAt      time.Time
	lastWatchErr string
	pending      map[string]*config.Group

	// Events: the bus, the start of the last tick of each period, and
	// output from the capture goroutines for the event system.
	bus     events.Bus
	ticks   map[int64]int64
	outputs chan process.Output

	// spawned counts spawns and API calls since memory was last given
	// back to the system.
	spawned int

	// Start order and readiness (order.go, probe.go, readiness.go): the
	// dependency graph, processes to stop once their dependents are,
	// to start again once stopped, bound to one that left RUNNING, and
	// dependencies begun for a waiting process; the probes; when each
	// became READY; when supervisord started.
	deps      *depGraph
	depsFresh bool
	repass    bool // pass again at once: a gate may have opened
	stopReq   map[*process.Process]bool
	relaunch  map[*process.Process]bool
	// stoppedWith: dependents stopped first because what they depend on
	// was asked to stop, and what that was (order.go, restartStoppedWith).
	stoppedWith map[*process.Process]map[*process.Process]bool
	unbound     []*process.Process
	begunDeps   map[*process.Process]bool
	probe       probes
	readyLog    map[*process.Process]readyRecord
	bootAt      time.Time

	budget stopBudget // shutdown_budget (budget.go)
}

type call struct {
	fn   func()
	done chan struct{}
}

// New prepares a daemon for cfg: it opens the log and creates the process
// groups and their AUTO log files. Nothing is started until Run.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	d := &Daemon{
		cfg:     cfg,
		opts:    opts,
		pids:    map[int]*process.Process{},
		mood:    process.MoodRunning,
		exits:   make(chan os.Signal, 4),
		signals: make(chan os.Signal, 16),
		chld:    make(chan os.Signal, 1),
		calls:   make(chan call),
		changed: make(chan struct{}),
		known:   cfg.Groups,
		pending: map[string]*config.Group{},
		ticks:   map[int64]int64{},
		outputs: make(chan process.Output, 1024),

		stopReq:   map[*process.Process]bool{},
		relaunch:  map[*process.Process]bool{},
		begunDeps: map[*process.Process]bool{},
		readyLog:  map[*process.Process]readyRecord{},
		bootAt:    time.Now(),
	}
	s := cfg.Supervisord
	log, err := NewLogger(s.Logfile, s.LogfileMaxBytes, s.LogfileBackups, s.LogLevel, stdoutIfForeground(s), opts.JSONLog)
	if err != nil {
		return nil, err
	}
	d.log = log
	d.rt = &process.Runtime{
		Log:       log,
		ServerURL: serverURL(cfg),
		Environ:   os.Environ(),
		UID:       os.Getuid(),
		OnState:   d.onState,
		Gate:      d.gate,
		StripANSI: s.StripANSI,
		Output:    func(o process.Output) { d.outputs <- o },
	}
	return d, nil
}

// serverURL is the URL children reach supervisord at: the first unix
// socket, else the first inet server.
func serverURL(cfg *config.Config) string {
	if len(cfg.UnixServers) > 0 {
		return "unix://" + cfg.UnixServers[0].File
	}
	if len(cfg.InetServers) > 0 {
		s := cfg.InetServers[0]
		host := s.Host
		if host == "" {
			host = "localhost"
		}
		return fmt.Sprintf("http://%s:%d", host, s.Port)
	}
	return ""
}

func (d *Daemon) onState(p *process.Process, from, to process.State, expected bool) {
	d.stateEvent(p, from, to, expected)
	d.orderOnState(p, from, to)
	d.notifyChange()
}

// notifyChange wakes everyone waiting in Changed.
func (d *Daemon) notifyChange() {
	d.changeMu.Lock()
	close(d.changed)
	d.changed = make(chan struct{})
	d.changeMu.Unlock()
}

// Changed returns a channel that is closed at the next change of a
// process state, of the daemon's mood, or of the set of groups. Safe from
// any goroutine.
func (d *Daemon) Changed() <-chan struct{} {
	d.changeMu.Lock()
	defer d.changeMu.Unlock()
	return d.changed
}

// Do runs fn on the event loop, where it may use every method below that
// says so, and waits until it has run. When ctx ends before the loop takes
// fn, fn never runs and Do returns ctx's error. Once the loop has taken fn,
// Do waits for it to finish whatever ctx does: the caller reads what fn
// wrote, and returning early would let it do so while fn still writes.
// Functions run on the loop never block, so that wait is short.
func (d *Daemon) Do(ctx context.Context, fn func()) error {
	c := call{fn: fn, done: make(chan struct{})}
	d.loopMu.Lock()
	stopped := d.loopDone
	d.loopMu.Unlock()
	select {
	case d.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-stopped:
		return ErrStopped
	}
	<-c.done
	return nil
}

// Log returns the daemon's log.
func (d *Daemon) Log() *Logger { return d.log }

// Run is supervisord's life: start-up messages, pidfile, the event loop,
// and an ordered shutdown on SIGTERM. SIGHUP stops everything, re-reads
// the configuration and starts again in the same process.
func (d *Daemon) Run() error {
	defer d.log.Close()
	defer d.sigchldWG.Wait() // before the log closes
	signal.Notify(d.exits, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Notify(d.signals, syscall.SIGHUP, syscall.SIGUSR2)
	signal.Notify(d.chld, syscall.SIGCHLD)
	// Catching SIGPIPE is what keeps a broken stdout from killing the
	// daemon: Go exits on SIGPIPE from a write to fd 1 or 2 unless the
	// signal is notified, and then the write fails with EPIPE (see
	// consoleWriter). Nobody reads the channel; SIG_IGN would do the same
	// but children would inherit it across exec.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	defer signal.Stop(d.exits)
	defer signal.Stop(d.signals)
	defer signal.Stop(d.chld)
	if os.Getpid() != 1 {
		// Become the reaper of orphaned grandchildren, as PID 1 is.
		if err := setSubreaper(); err != nil {
			d.log.Log(config.LevelWarn, "could not become a child subreaper: %v", err)
		}
	}
	defer d.removePidfile()
	for first := true; ; first = false {
		d.startupMessages()
		if first {
			if err := d.setRlimits(); err != nil {
				return err
			}
			if err := process.HideInherited(); err != nil {
				d.log.Log(config.LevelWarn, "children may inherit descriptors this daemon was started with: %v", err)
			}
		}
		d.addGroups()
		done := make(chan struct{})
		d.loopMu.Lock()
		d.loopDone = done
		d.loopMu.Unlock()
		if err := d.openServers(); err != nil {
			d.log.Log(config.LevelCritical, "%v", err)
			d.closeGroups()
			return err
		}
		d.writePidfile()
		d.startWatch()
		if !first {
			// SIGHUPs from now on, and those that came while restarting,
			// are coalesced for a while (see hup).
			d.loopStarted = time.Now()
		}
		err := d.loop()
		close(done)
		d.notifyChange() // calls waiting for a change now learn the loop ended
		d.stopWatch()
		d.closeServers()
		d.closeGroups()
		if !errors.Is(err, errRestart) {
			return nil
		}
		d.reload()
	}
}

var errRestart = errors.New("restart")

// ErrStopped is Do's answer once the event loop has ended (a shutdown or
// restart has stopped everything) and nothing will run fn.
var ErrStopped = errors.New("supervisord is shutting down")

// idleFree is how long the loop must have been idle after some work before
// it returns unused memory to the system.
const idleFree = time.Second

func (d *Daemon) startupMessages() {
	c := d.cfg
	if c.Supervisord.Logfile == "syslog" {
		d.log.Log(config.LevelWarn, "logfile=syslog is not supported; the log goes to stdout only")
	}
	if c.Supervisord.UID < 0 && os.Getuid() == 0 {
		d.log.Log(config.LevelCritical, "Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message.")
	}
	for _, w := range c.Warnings {
		d.log.Log(config.LevelWarn, "%s", w.Msg)
	}
	if c.Supervisord.UID >= 0 {
		d.log.Log(config.LevelInfo, "Set uid to user %d succeeded", c.Supervisord.UID)
	}
	for _, f := range c.Included {
		d.log.Log(config.LevelInfo, "Included extra file \"%s\" during parsing", f)
	}
}

func (d *Daemon) writePidfile() {
	path := d.cfg.Supervisord.Pidfile
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		d.log.Log(config.LevelCritical, "could not write pidfile %s", path)
		return
	}
	d.log.Log(config.LevelInfo, "supervisord started with pid %d", os.Getpid())
}

func (d *Daemon) removePidfile() {
	os.Remove(d.cfg.Supervisord.Pidfile)
}

// addGroups creates every group of the configuration, with its AUTO log
// files, in start order.
func (d *Daemon) addGroups() {
	s := d.cfg.Supervisord
	if !s.NoCleanup {
		d.clearAutoChildLogDir()
	}
	d.groups = nil
	for _, gc := range d.cfg.Groups {
		if d.group(gc.Name) != nil {
			continue // supervisord keeps the first group of a name
		}
		d.groups = append(d.groups, d.newGroup(gc))
		d.bus.Publish(events.Group(events.ProcessGroupAdded, gc.Name))
	}
}

func (d *Daemon) group(name string) *Group {
	for _, g := range d.groups {
		if g.Config.Name == name {
			return g
		}
	}
	return nil
}

// logTarget returns where a stream is logged: its file, a new AUTO file
// in childlogdir, or nowhere. As Python does when a group is added, the
// AUTO file is created (empty) now, so that getProcessInfo shows its name
// and tail finds it before the first start; when that fails (the folder
// is gone, no descriptors) it is created at the process's next start.
func (d *Daemon) logTarget(pc *config.Process, stream string, o config.OutputLog) process.LogTarget {
	switch o.Kind {
	case config.LogFile:
		return process.LogTarget{Path: o.Path}
	case config.LogAuto:
		s := d.cfg.Supervisord
		t := process.LogTarget{AutoDir: s.ChildLogDir, AutoPattern: fmt.Sprintf("%s-%s---%s-*.log", pc.Name, stream, s.Identifier)}
		var f *os.File
		var err error
		umask.Create(func() { f, err = os.CreateTemp(t.AutoDir, t.AutoPattern) })
		if err != nil {
			d.log.Log(config.LevelError, "%s: cannot create its AUTO %s log in %s (trying again when it starts): %v", pc.Name, stream, s.ChildLogDir, err)
			return t
		}
		f.Close()
		t.Path = f.Name()
		return t
	}
	return process.LogTarget{}
}

// clearAutoChildLogDir removes AUTO logs left by an earlier run.
func (d *Daemon) clearAutoChildLogDir() {
	s := d.cfg.Supervisord
	re := regexp.MustCompile(`^.+?---` + regexp.QuoteMeta(s.Identifier) + `-\S+\.log\.?\d{0,4}`)
	entries, err := os.ReadDir(s.ChildLogDir)
	if err != nil {
		d.log.Log(config.LevelWarn, "Could not clear childlog dir")
		return
	}
	for _, e := range entries {
		if re.MatchString(e.Name()) {
			p := filepath.Join(s.ChildLogDir, e.Name())
			if err := os.Remove(p); err != nil {
				d.log.Log(config.LevelWarn, "Failed to clean up '%s'", p)
			}
		}
	}
}

func (d *Daemon) closeGroups() {
	// The capture goroutines may still hand output to the loop, which no
	// longer runs: drop it while they finish.
	stop := make(chan struct{})
	var drain sync.WaitGroup
	drain.Add(1)
	go func() {
		defer drain.Done()
		for {
			select {
			case <-d.outputs:
			case <-stop:
				return
			}
		}
	}()
	for _, g := range d.groups {
		for _, p := range g.Processes {
			p.WaitOutput()
			p.CloseLogs()
		}
		d.removePool(g)
	}
	for _, p := range d.retired {
		p.WaitOutput()
	}
	d.retired = nil
	close(stop)
	drain.Wait()
}

// reload re-reads the configuration after SIGHUP, keeping the running one
// when the new one is bad.
func (d *Daemon) reload() {
	d.setMood(process.MoodRunning)
	d.stopping = false
	d.stopGroups = nil
	if d.opts.Reload == nil {
		return
	}
	cfg, err := d.opts.Reload()
	if err != nil {
		d.log.Log(config.LevelError, "configuration not reloaded, keeping the running one: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	s := cfg.Supervisord
	log, err := NewLogger(s.Logfile, s.LogfileMaxBytes, s.LogfileBackups, s.LogLevel, stdoutIfForeground(s), d.opts.JSONLog)
	if err != nil {
		d.log.Log(config.LevelError, "configuration not reloaded, keeping the running one: %v", err)
		return
	}
	d.log.Close()
	d.log, d.rt.Log = log, log
	d.cfg = cfg
	d.known = cfg.Groups
	d.rt.ServerURL = serverURL(cfg)
	d.rt.StripANSI = s.StripANSI
}

// loop runs until every process is stopped after a shutdown or restart
// request. It returns errRestart after SIGHUP.
func (d *Daemon) loop() error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	d.startProbes()
	defer d.stopProbes()
	d.bus.Publish(events.SupervisorState(events.SupervisorStateRunning))
	d.hupPending = false
	for {
		now := time.Now()
		d.hupDue(now)
		if d.mood < process.MoodRunning {
			if !d.stopping {
				d.stopping = true
				d.stopGroups = append([]*Group(nil), d.groups...)
				d.bus.Publish(events.SupervisorState(events.SupervisorStateStop))
			}
			d.stopNextGroups(now)
			if len(d.shutdownReport(now)) == 0 {
				if d.mood == process.MoodRestarting {
					return errRestart
				}
				return nil
			}
		}
		if d.mood == process.MoodRunning {
			if !d.applyAt.IsZero() && !now.Before(d.applyAt) {
				d.applyAt = time.Time{}
				d.applyEdit(now)
			}
			if len(d.pending) > 0 {
				d.applyPending(now)
			}
		}
		d.readinessPass(now)
		d.budgetPass(now)
		for _, g := range d.groups {
			for _, p := range g.Processes {
				d.track(p, p.Transition(now, d.mood))
				d.syncProbe(p)
				d.noteReady(p, now)
			}
		}
		d.passDone()
		d.dispatchEvents()
		if d.mood < process.MoodRunning && len(d.unstopped()) == 0 {
			continue
		}
		wake := d.nextWake(now)
		if d.spawned > 0 && wake > idleFree {
			// After a burst of work (spawns, API calls) wake once more when
			// idle, to give memory back (see below).
			wake = idleFree
		}
		if t := d.tick(now); !t.IsZero() && t.Sub(now) < wake {
			wake = max(t.Sub(now), 0)
		}
		if d.repass {
			// A readiness change in this pass may open the gate of a
			// process looked at earlier in it.
			d.repass = false
			wake = 0
		}
		timer.Reset(wake)
		select {
		case sig := <-d.exits:
			d.handleSignal(sig.(syscall.Signal))
		case sig := <-d.signals:
			d.handleSignal(sig.(syscall.Signal))
		case <-d.chld:
			d.logSIGCHLD(d.reap())
		case c := <-d.calls:
			c.fn()
			close(c.done)
			d.spawned++ // API work allocates too
		case <-d.watchEvents:
			d.applyAt = time.Now().Add(watchDebounce)
		case o := <-d.outputs:
			d.output(o)
		case r := <-d.probe.results:
			d.probeVerdict(r, time.Now())
		case <-timer.C:
			if d.spawned > 0 && time.Since(now) >= idleFree {
				// Idle for a while after a burst: the garbage of spawning
				// a thousand processes or answering getAllProcessInfo would
				// go back to the system only minutes later; give it back
				// now, while nothing else is happening.
				d.spawned = 0
				debug.FreeOSMemory()
			}
		}
	}
}

// nextWake is how long to sleep until the next timed transition.
func (d *Daemon) nextWake(now time.Time) time.Duration {
	wake := now.Add(time.Hour)
	for _, g := range d.groups {
		for _, p := range g.Processes {
			if t := p.NextDeadline(); !t.IsZero() && t.Before(wake) {
				wake = t
			}
		}
	}
	if !d.applyAt.IsZero() && d.applyAt.Before(wake) {
		wake = d.applyAt
	}
	if t := d.lastHup.Add(hupQuiet); d.hupPending && t.Before(wake) {
		wake = t
	}
	if t := d.budgetWake(); !t.IsZero() && t.Before(wake) {
		wake = t
	}
	if d.mood < process.MoodRunning {
		// Report who we are waiting for every few seconds.
		if t := d.lastShutReport.Add(3 * time.Second); t.Before(wake) {
			wake = t
		}
	}
	return max(wake.Sub(now), 0)
}

// finish hands an exit status to the process that owns the pid, and
// returns that process (nil for an orphan).
func (d *Daemon) finish(pid int, status syscall.WaitStatus) *process.Process {
	p, ok := d.pids[pid]
	if !ok && d.checkExited(pid, status) {
		return nil
	}
	if !ok {
		_, msg := process.DecodeWaitStatus(status)
		d.log.Log(config.LevelInfo, "reaped unknown pid %d (%s)", pid, msg)
		return nil
	}
	delete(d.pids, pid)
	p.Finish(status, time.Now())
	if pool := d.poolOf(p); pool != nil {
		pool.Exited(p.Name())
	}
	return p
}

func (d *Daemon) handleSignal(sig syscall.Signal) {
	name := process.SignalName(int(sig))
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
		d.log.Log(config.LevelWarn, "received %s indicating exit request", name)
		d.setMood(process.MoodShutdown)
	case syscall.SIGHUP:
		if d.mood == process.MoodShutdown {
			d.log.Log(config.LevelWarn, "ignored %s indicating restart request (shutdown in progress)", name)
			return
		}
		d.log.Log(config.LevelWarn, "received %s indicating restart request", name)
		d.hup(time.Now())
	case syscall.SIGUSR2:
		d.log.Log(config.LevelInfo, "received %s indicating log reopen request", name)
		d.log.Log(config.LevelInfo, "supervisord logreopen")
		if err := d.log.Reopen(); err != nil {
			d.log.Log(config.LevelError, "reopening %s: %v", d.log.Path(), err)
		}
		for _, g := range d.groups {
			for _, p := range g.Processes {
				for _, l := range []*process.Log{p.Stdout, p.Stderr} {
					if l != nil {
						l.Reopen()
					}
				}
			}
		}
	default:
		d.log.Log(config.LevelBlather, "received %s indicating nothing", name)
	}
}

// hupQuiet is how long SIGHUPs must stop before the restart they asked
// for while another was under way.
const hupQuiet = time.Second

// hup handles a restart request by signal. SIGHUPs while a restart is
// under way are coalesced: those during the stop are served by it (the
// configuration is read after the stop, as Python does), and those that
// arrive while it reads the configuration and starts again, or soon
// after, make one more restart, once the signals have stopped for
// hupQuiet. A storm of 100 SIGHUPs thus restarts twice, not once per
// signal, and the API answers in between.
func (d *Daemon) hup(now time.Time) {
	switch {
	case d.mood == process.MoodRestarting:
		// The restart under way reads the configuration after the stop.
	case d.hupPending || now.Sub(d.loopStarted) < hupQuiet:
		d.hupPending = true
		d.lastHup = now
	default:
		d.setMood(process.MoodRestarting)
	}
}

// hupDue starts the restart coalesced by hup once the signals stopped.
func (d *Daemon) hupDue(now time.Time) {
	if d.hupPending && d.mood == process.MoodRunning && !now.Before(d.lastHup.Add(hupQuiet)) {
		d.hupPending = false
		d.log.Log(config.LevelInfo, "restarting for the SIGHUP received during the last restart")
		d.setMood(process.MoodRestarting)
	}
}

// reap collects every exited child: managed ones go to their process in
// the event loop (and are returned), orphans are logged and forgotten.
// Ready checks' children are handed back to their checks (see probe).
func (d *Daemon) reap() []*process.Process {
	d.probe.reapMu.Lock()
	defer d.probe.reapMu.Unlock()
	var done []*process.Process
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return done
		}
		if p := d.finish(pid, ws); p != nil {
			done = append(done, p)
		}
	}
}

// logSIGCHLD logs, at debug, Python's line for a SIGCHLD. Python logs it
// after reaping (so after "exited: …") and after the child's last output,
// which its loop reads first; the output of the processes just reaped is
// still being read here, so the line waits (off the loop, at most
// process.drainGrace) until it is logged.
func (d *Daemon) logSIGCHLD(reaped []*process.Process) {
	log := d.log
	if !log.Enabled(config.LevelDebug) {
		return
	}
	var pending []<-chan struct{}
	for _, p := range reaped {
		if c := p.OutputDone(); c != nil {
			pending = append(pending, c)
		}
	}
	const msg = "received SIGCHLD indicating a child quit"
	if len(pending) == 0 {
		log.Log(config.LevelDebug, msg)
		return
	}
	d.sigchldWG.Go(func() {
		for _, c := range pending {
			<-c
		}
		log.Log(config.LevelDebug, msg)
	})
}

// stopNextGroups stops groups from the highest priority down, each fully
// stopped before the next: it asks the last group still running to stop
// and moves on at once past groups that are already stopped.
func (d *Daemon) stopNextGroups(now time.Time) {
	for len(d.stopGroups) > 0 {
		g := d.stopGroups[len(d.stopGroups)-1]
		procs := append([]*process.Process(nil), g.Processes...)
		sort.SliceStable(procs, func(i, j int) bool { return procs[i].Config.Priority < procs[j].Config.Priority })
		for i := len(procs) - 1; i >= 0; i-- {
			p := procs[i]
			switch p.State() {
			case process.Running, process.Starting:
				d.requestStop(p, now)
			case process.Backoff:
				p.GiveUp(now)
			}
		}
		for _, p := range g.Processes {
			if !p.State().IsStopped() {
				return
			}
		}
		d.stopGroups = d.stopGroups[:len(d.stopGroups)-1]
	}
}

func (d *Daemon) unstopped() []*process.Process {
	var out []*process.Process
	for _, g := range d.groups {
		for _, p := range g.Processes {
			if !p.State().IsStopped() {
				out = append(out, p)
			}
		}
	}
	return out
}

func (d *Daemon) shutdownReport(now time.Time) []*process.Process {
	un := d.unstopped()
	if len(un) > 0 && now.After(d.lastShutReport.Add(3*time.Second)) {
		names := make([]string, len(un))
		for i, p := range un {
			names[i] = p.Name()
		}
		d.log.Log(config.LevelInfo, "waiting for %s to die", strings.Join(names, ", "))
		d.lastShutReport = now
		for _, p := range un {
			d.log.Log(config.LevelBlather, "%s state: %s", p.Name(), p.State())
		}
	}
	return un
}

// setRlimits raises the open-file and process limits to minfds and
// minprocs, as supervisord does, or fails with its message.
func (d *Daemon) setRlimits() error {
	s := d.cfg.Supervisord
	limits := []struct {
		res  int
		name string
		min  int
		msg  string
	}{
		{syscall.RLIMIT_NOFILE, "RLIMIT_NOFILE", s.MinFDs, `The minimum number of file descriptors required to run this process is %d as per the "minfds" command-line argument or config file setting. The current environment will only allow you to open %d file descriptors.  Either raise the number of usable file descriptors in your environment (see README.rst) or lower the minfds setting in the config file to allow the process to start.`},
		{6 /* RLIMIT_NPROC */, "RLIMIT_NPROC", s.MinProcs, `The minimum number of available processes required to run this program is %d as per the "minprocs" command-line argument or config file setting. The current environment will only allow you to open %d processes.  Either raise the number of usable processes in your environment (see README.rst) or lower the minprocs setting in the config file to allow the program to start.`},
	}
	for _, l := range limits {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(l.res, &rl); err != nil {
			continue
		}
		min := uint64(l.min)
		if rl.Cur >= min || rl.Cur == ^uint64(0) {
			continue
		}
		hard := rl.Max
		if hard < min && hard != ^uint64(0) {
			hard = min
		}
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: min, Max: hard}); err != nil {
			return fmt.Errorf(l.msg, l.min, rl.Max)
		}
		d.log.Log(config.LevelInfo, "Increased %s limit to %d", l.name, l.min)
	}
	return nil
}

// setSubreaper makes this process the reaper of its orphaned descendants.
func setSubreaper() error {
	const prSetChildSubreaper = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return e
	}
	return nil
}

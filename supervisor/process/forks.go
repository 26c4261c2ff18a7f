package process

import (
	"fmt"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/umask"
)

// Forks lets the event loop spawn several processes at once. The fork and
// exec of a spawn is most of its cost, and most of that is the daemon's
// thread waiting (vfork) for the child to reach execve, which on a busy
// machine means waiting for the scheduler: waits that overlap instead of
// queueing. Everything else stays on the loop and in Python's order:
//
//   - a deferred Spawn does its checks, pipes and log files on the loop,
//     enters STARTING, and hands only the fork and exec to a goroutine;
//   - Settle applies the outcomes (the pid, "spawned: 'x' with pid N", or
//     the spawn error and BACKOFF) in the order the spawns were asked for;
//   - every log line and state change of a process, other than the
//     STARTING of a deferred spawn, first settles the spawns before it,
//     so the daemon log reads line for line as Python's single pass
//     writes it, and any other operation on a process whose spawn is
//     still under way (Kill, Signal, Transition, Finish, stdin) first
//     settles it.
//
// What can differ from Python: the order of the events of different
// processes when a fork itself fails (the BACKOFF of one comes after the
// STARTING of the next ones), and pids are not ascending in spawn order.
// A program with umask= is spawned serially (the umask is the whole
// daemon's while it forks).
//
// A Forks is owned by the event loop, like the processes.
type Forks struct {
	deferring bool
	settling  bool
	pending   []*Process
	slots     chan struct{} // bounds the forks under way
	spawned   func(p *Process, pid int)
}

// NewForks returns a queue running at most limit forks at once. spawned
// is called on the loop for every settled spawn with its pid (0 when it
// failed), so that the daemon tracks the pid before anything reaps it.
func NewForks(limit int, spawned func(p *Process, pid int)) *Forks {
	return &Forks{slots: make(chan struct{}, max(limit, 1)), spawned: spawned}
}

// Defer makes the Spawns that follow fork off the loop, until Settle. A
// nil Forks does nothing: every spawn forks on the loop.
func (f *Forks) Defer() {
	if f != nil {
		f.deferring = true
	}
}

// Settle waits for every spawn under way and applies its outcome, in
// the order they were asked for, and stops deferring.
func (f *Forks) Settle() {
	if f == nil {
		return
	}
	f.deferring = false
	f.flush()
}

// flush applies the outcomes of the spawns under way, oldest first. A
// log line written while one is applied (its own "spawned:") must not
// settle the next one before it: flush does not nest.
func (f *Forks) flush() {
	if f == nil || f.settling {
		return
	}
	f.settling = true
	defer func() { f.settling = false }()
	for len(f.pending) > 0 {
		p := f.pending[0]
		f.pending[0] = nil
		f.pending = f.pending[1:]
		pid := p.settleFork()
		if f.spawned != nil {
			f.spawned(p, pid)
		}
	}
	f.pending = nil
}

// pendingFork is a fork and exec under way in a goroutine: the goroutine
// writes pid and err, then closes done; the loop reads them after.
type pendingFork struct {
	done    chan struct{}
	pid     int
	err     error
	c       *capture
	program string
	now     time.Time
}

// deferFork starts the fork of a prepared spawn in a goroutine and
// queues its outcome.
func (f *Forks) deferFork(p *Process, c *capture, path string, argv []string, attr *syscall.ProcAttr, now time.Time) {
	pf := &pendingFork{done: make(chan struct{}), c: c, program: argv[0], now: now}
	p.fork = pf
	f.pending = append(f.pending, p)
	f.slots <- struct{}{} // waits (on the loop) only while limit forks run
	go func() {
		defer func() { <-f.slots }()
		defer close(pf.done)
		umask.Fork(-1, func() { pf.pid, pf.err = syscall.ForkExec(path, argv, attr) })
	}()
}

// settleFork applies the outcome of this process's fork (see Forks).
func (p *Process) settleFork() int {
	pf := p.fork
	p.fork = nil
	<-pf.done
	pf.c.closeChildEnds()
	if pf.err != nil {
		pf.c.closeAll()
		p.recordSpawnErr(forkErr(pf.program, pf.err).Error())
		p.changeState(Backoff, true, pf.now)
		return 0
	}
	p.attach(pf.c, pf.pid)
	return p.spawned(pf.pid, pf.now)
}

// settleOwn settles the spawns up to this process's when its own is
// still under way: whatever is done to a process sees its pid.
func (p *Process) settleOwn() {
	if p.fork != nil {
		p.rt.Forks.flush()
	}
}

// settleBefore settles every spawn under way, so that what this process
// logs or changes comes after them, as in Python's single pass.
func (p *Process) settleBefore() {
	if f := p.rt.Forks; f != nil && len(f.pending) > 0 {
		f.flush()
	}
}

// forkErr is Python's spawn error for a fork or exec that failed.
func forkErr(program string, err error) error {
	code := err
	if e, ok := err.(syscall.Errno); ok {
		code = fmt.Errorf("%s", errnoName(e))
	}
	return fmt.Errorf("couldn't exec %s: %v", program, code)
}

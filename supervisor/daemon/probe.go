package daemon

// Ready checks: each process with a ready= check is checked from its spawn
// until it leaves STARTING/RUNNING. One scheduler goroutine keeps the
// checks that are due (sched.go) and starts a goroutine per attempt, which
// runs the check off the loop and sends the verdict back through it. The
// loop never waits for a check; a check that hangs is bounded by its
// attempt timeout; every goroutine here ends before loop returns. Between
// attempts a check costs no goroutine: a thousand of them cost less idle
// CPU and memory than Python's daemon at rest (see the benchmark).

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
	"github.com/gpudesk/runtime/supervisor/ready"
)

// Probe timing: until the first pass checks are tried quickly (first
// after probeFirst, the gap doubling up to probeFastMax, or ready_interval
// if shorter); once READY, every ready_interval. An attempt is given
// ready_interval, at least probeMinAttempt and at most ready_timeout.
const (
	probeFirst      = 100 * time.Millisecond
	probeFastMax    = time.Second
	probeMinAttempt = time.Second
	// readyFailures is how many failed checks in a row make a READY
	// process not ready again.
	readyFailures = 3
)

// probe is the loop's record of one process's checks.
type probe struct {
	pid   int
	entry *probeEntry
	fails int // failed checks in a row
}

// probeResult is one verdict, for the process with that pid.
type probeResult struct {
	p   *process.Process
	pid int
	err error
}

// probes is the state of every probe: owned by the loop except the check
// pids, which the probes' exec checks register under checkMu.
type probes struct {
	running map[*process.Process]*probe
	sched   *scheduler
	results chan probeResult
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// reapMu orders exec checks' forks before the loop's reaping, so
	// that a check's child is registered in checkPids before wait4 can
	// collect it (the daemon reaps every child: it is PID 1).
	reapMu    sync.RWMutex
	checkMu   sync.Mutex
	checkPids map[int]chan syscall.WaitStatus
}

// startProbes prepares the probes of one run of the loop.
func (d *Daemon) startProbes() {
	d.probe.running = map[*process.Process]*probe{}
	d.probe.results = make(chan probeResult, 64)
	d.probe.ctx, d.probe.cancel = context.WithCancel(context.Background())
	d.probe.sched = newScheduler(d.probe.ctx, func(e *probeEntry) {
		d.probe.wg.Add(1)
		go d.attempt(e)
	})
	d.probe.wg.Add(1)
	go func() {
		defer d.probe.wg.Done()
		d.probe.sched.run()
	}()
	d.probe.checkMu.Lock()
	if d.probe.checkPids == nil {
		d.probe.checkPids = map[int]chan syscall.WaitStatus{}
	}
	d.probe.checkMu.Unlock()
}

// stopProbes ends every probe and waits for them, reaping meanwhile so
// that a killed exec check is collected.
func (d *Daemon) stopProbes() {
	d.probe.cancel()
	done := make(chan struct{})
	go func() {
		d.probe.wg.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			return
		case <-d.chld:
			d.reap()
		case <-d.probe.results:
		}
	}
}

// syncProbe starts or ends p's probe to match its state: a probe runs
// while p has a pid and is STARTING or RUNNING.
func (d *Daemon) syncProbe(p *process.Process) {
	c := p.Config.Ready
	pr := d.probe.running[p]
	st := p.State()
	want := c != nil && p.PID() != 0 && (st == process.Starting || st == process.Running)
	if pr != nil && (!want || pr.pid != p.PID()) {
		d.probe.sched.cancel(pr.entry)
		delete(d.probe.running, p)
		pr = nil
	}
	if !want || pr != nil {
		return
	}
	interval := p.Config.ReadyInterval
	if interval <= 0 {
		interval = config.DefaultReadyInterval
	}
	attempt := max(interval, probeMinAttempt)
	if t := p.Config.ReadyTimeout; t > 0 && t < attempt {
		attempt = t
	}
	var opts ready.Options
	if c.Kind == ready.Exec {
		// Only a command needs an environment: a thousand tcp: checks
		// need not hold a thousand copies of it.
		opts = ready.Options{Env: d.checkEnv(p), Start: d.startCheck}
		if dir := p.Config.Directory; dir != nil {
			opts.Dir = *dir
		}
	}
	ctx, cancel := context.WithCancel(d.probe.ctx)
	e := &probeEntry{p: p, pid: p.PID(), check: *c, opts: opts, interval: interval, attempt: attempt,
		gap: probeFirst, ctx: ctx, cancelCtx: cancel}
	pr = &probe{pid: p.PID(), entry: e}
	d.probe.running[p] = pr
	d.probe.sched.add(e, time.Now())
}

// attempt runs one check of e (in its own goroutine, started by the
// scheduler) and sends the verdict to the loop: every failure (the
// reasons become notes) and a pass when the one before was not one. Then
// it schedules the next check.
func (d *Daemon) attempt(e *probeEntry) {
	defer d.probe.wg.Done()
	actx, cancel := context.WithTimeout(e.ctx, e.attempt)
	err := e.check.Run(actx, e.opts)
	cancel()
	if e.ctx.Err() != nil {
		return
	}
	ok := err == nil
	if !ok || !e.lastOK {
		select {
		case d.probe.results <- probeResult{p: e.p, pid: e.pid, err: err}:
		case <-e.ctx.Done():
			return
		}
	}
	e.lastOK = ok
	e.passed = e.passed || ok
	next := e.interval
	if !e.passed {
		next = min(e.gap, e.interval)
		e.gap = min(e.gap*2, probeFastMax)
	}
	d.probe.sched.add(e, time.Now().Add(next))
}

// probeResult takes a verdict on the loop.
func (d *Daemon) probeVerdict(r probeResult, now time.Time) {
	p := r.p
	pr := d.probe.running[p]
	if pr == nil || pr.pid != r.pid || p.PID() != r.pid {
		return // from an earlier run of the process
	}
	if r.err == nil {
		pr.fails = 0
		p.SetReady(true, "", now)
		return
	}
	pr.fails++
	reason := r.err.Error()
	if p.State() == process.Starting {
		p.SetReady(false, reason, now)
		return
	}
	if !p.Ready() || pr.fails < readyFailures {
		return
	}
	p.SetReady(false, reason, now)
	d.log.Log(config.LevelWarn, "not ready: %s failed its ready check (%s) %d times in a row: %s", p.Name(), p.Config.Ready.Text, pr.fails, reason)
	if p.Config.ReadyRestart && d.mood == process.MoodRunning {
		d.log.Log(config.LevelInfo, "%s: restarting it (ready_restart)", p.Name())
		d.relaunch[p] = true
		d.unbound = append(d.unbound, d.graph().bound[p]...)
		d.requestStop(p, now)
	}
}

// checkEnv is an exec check's environment: supervisord's, with the
// program's environment= on top.
func (d *Daemon) checkEnv(p *process.Process) []string {
	env := append([]string(nil), d.rt.Environ...)
	for _, kv := range p.Config.Environment {
		env = append(env, kv.Key+"="+kv.Value)
	}
	return env
}

// startCheck is the exec checks' ready.Starter: it forks under reapMu and
// registers the pid, so that reap hands its status over.
func (d *Daemon) startCheck(path string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	d.probe.reapMu.RLock()
	defer d.probe.reapMu.RUnlock()
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	d.probe.checkMu.Lock()
	d.probe.checkPids[pid] = ch
	d.probe.checkMu.Unlock()
	return pid, ch, nil
}

// checkExited hands a reaped pid's status to its exec check; it reports
// whether the pid was one.
func (d *Daemon) checkExited(pid int, ws syscall.WaitStatus) bool {
	d.probe.checkMu.Lock()
	ch, ok := d.probe.checkPids[pid]
	delete(d.probe.checkPids, pid)
	d.probe.checkMu.Unlock()
	if ok {
		ch <- ws // buffered: never blocks
	}
	return ok
}

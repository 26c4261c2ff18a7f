package daemon

// The shutdown budget ([supervisord] shutdown_budget, an extension): a
// platform that sends SIGTERM kills the container a fixed time later
// (Kubernetes' terminationGracePeriodSeconds, a spot host's notice), and
// Python's stop, one group after another each allowed its whole
// stopwaitsecs, can take far longer. With a budget the stop keeps its order
// (priority, then dependents before what they depend on) but each process
// asked to stop gets only its share of the time left, and whatever still
// runs just before the deadline is killed.
//
// The share: the groups still to stop are stopped one after another, so
// the time left is divided over them in proportion to what each declares
// it needs (the largest stopwaitsecs among its unstopped processes). A
// database with stopwaitsecs=60 then keeps six times the time of a helper
// with 10, rather than the same slice; every process gets the same
// fraction of its own stopwaitsecs. The share is worked out again each
// time a process begins to stop, against the time then left, so what a
// quick group did not use goes to the groups after it. Restarts (SIGHUP,
// supervisorctl reload) are not under a platform's deadline and keep
// Python's behaviour.

import (
	"sort"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// stopBudget is the state of a budgeted shutdown; the event loop owns it.
type stopBudget struct {
	deadline time.Time // zero: no budgeted shutdown under way
	killAt   time.Time // deadline less budgetReserve: kill whatever is left
	spent    bool      // the kill at killAt is done
	cuts     map[*process.Process]*budgetCut
}

// budgetCut is a stop given less than its stopwaitsecs.
type budgetCut struct {
	pid    int
	asked  time.Time
	killAt time.Time
	killed bool
}

// budgetReserve is the time kept after the last SIGKILL for the kernel to
// end the processes, the daemon to reap them, close its servers and logs,
// and exit: a tenth of the budget, between 200 ms and 2 s.
func budgetReserve(budget time.Duration) time.Duration {
	return min(max(budget/10, 200*time.Millisecond), 2*time.Second)
}

// budgetPass runs on each pass of the loop, after the stop requests of
// the pass were made: it starts the budget when a shutdown begins, gives
// each process that began to stop its share, and kills those whose share
// or the whole budget is spent.
func (d *Daemon) budgetPass(now time.Time) {
	s := d.cfg.Supervisord
	b := &d.budget
	if s.ShutdownBudget <= 0 || d.mood != process.MoodShutdown {
		*b = stopBudget{}
		return
	}
	if b.deadline.IsZero() {
		b.deadline = now.Add(s.ShutdownBudget)
		b.killAt = b.deadline.Add(-budgetReserve(s.ShutdownBudget))
		b.cuts = map[*process.Process]*budgetCut{}
		d.log.Log(config.LevelInfo, "shutdown_budget: stopping everything within %s (set by %s); stopwaitsecs is shortened as needed",
			s.ShutdownBudget, s.ShutdownBudgetFrom)
	}
	if b.spent {
		return
	}
	if !now.Before(b.killAt) {
		b.spent = true
		d.killRest(now)
		return
	}
	left := b.killAt.Sub(now)
	weights, total := d.stageWeights()
	for _, g := range d.groups {
		for _, p := range g.Processes {
			c := b.cuts[p]
			if p.State() != process.Stopping || p.PID() == 0 || (c != nil && c.pid == p.PID()) {
				continue
			}
			wait := time.Duration(p.Config.StopWaitSecs) * time.Second
			share := left
			if total > 0 {
				share = time.Duration(float64(left) * float64(weights[g]) / float64(total))
			}
			if share >= wait {
				continue
			}
			b.cuts[p] = &budgetCut{pid: p.PID(), asked: now, killAt: now.Add(share)}
			d.log.Log(config.LevelInfo, "shutdown_budget: %s may take %s to stop instead of stopwaitsecs=%d (%s left for %d groups)",
				namespec(p), share.Round(time.Millisecond), p.Config.StopWaitSecs, left.Round(time.Millisecond), len(weights))
		}
	}
	for p, c := range b.cuts {
		if c.killed || now.Before(c.killAt) || p.State() != process.Stopping || p.PID() != c.pid {
			continue
		}
		c.killed = true
		d.log.Log(config.LevelWarn, "shutdown_budget: killing %s (pid %d) with SIGKILL early, after %s of its stopwaitsecs=%d",
			namespec(p), c.pid, now.Sub(c.asked).Round(time.Millisecond), p.Config.StopWaitSecs)
		p.Kill(int(syscall.SIGKILL), now)
	}
}

// stageWeights returns, for each group still to stop (the current one
// included), the largest stopwaitsecs among its unstopped processes, and
// their sum.
func (d *Daemon) stageWeights() (map[*Group]time.Duration, time.Duration) {
	weights := map[*Group]time.Duration{}
	var total time.Duration
	for _, g := range d.stopGroups {
		var w time.Duration
		unstopped := false
		for _, p := range g.Processes {
			if !p.State().IsStopped() {
				unstopped = true
				w = max(w, time.Duration(p.Config.StopWaitSecs)*time.Second)
			}
		}
		if unstopped {
			weights[g] = w
			total += w
		}
	}
	return weights, total
}

// killRest ends, just before the deadline, every process not yet stopped:
// those still stopping and those whose turn had not come.
func (d *Daemon) killRest(now time.Time) {
	var names []string
	for _, g := range d.groups {
		for _, p := range g.Processes {
			switch st := p.State(); {
			case st.IsStopped():
				continue
			case st == process.Backoff:
				p.GiveUp(now)
				continue
			case p.PID() == 0:
				p.Kill(int(syscall.SIGKILL), now) // waiting to start: nothing to signal
				continue
			case st == process.Stopping:
				d.log.Log(config.LevelWarn, "shutdown_budget: %s spent: killing %s (pid %d) with SIGKILL, still stopping",
					d.cfg.Supervisord.ShutdownBudget, namespec(p), p.PID())
			default:
				d.log.Log(config.LevelWarn, "shutdown_budget: %s spent: killing %s (pid %d) with SIGKILL before its turn to stop came",
					d.cfg.Supervisord.ShutdownBudget, namespec(p), p.PID())
			}
			names = append(names, namespec(p))
			p.Kill(int(syscall.SIGKILL), now)
		}
	}
	for p := range d.stopReq { // nothing waits on an order any more
		delete(d.stopReq, p)
	}
	if len(names) > 0 {
		sort.Strings(names)
		d.log.Log(config.LevelWarn, "shutdown_budget: killed %d processes at the deadline: %v", len(names), names)
	}
}

// budgetWake is when budgetPass next has work to do (zero: never).
func (d *Daemon) budgetWake() time.Time {
	b := &d.budget
	if b.deadline.IsZero() || b.spent {
		return time.Time{}
	}
	wake := b.killAt
	for _, c := range b.cuts {
		if !c.killed && c.killAt.Before(wake) {
			wake = c.killAt
		}
	}
	return wake
}

// serverDrainTime is how long closeServers lets the answers under way go
// out: serverDrain, or what is left of the budget.
func (d *Daemon) serverDrainTime(now time.Time) time.Duration {
	b := &d.budget
	if b.deadline.IsZero() {
		return serverDrain
	}
	return max(min(serverDrain, b.deadline.Sub(now)/2), 0)
}

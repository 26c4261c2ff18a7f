package daemon

// Start order: the dependency graph of the running groups (depends_on and
// bind_to), the gate every spawn passes, stop requests that stop
// dependents before what they depend on, and bind_to restarts. Everything
// here runs on the event loop.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// depGraph is who needs whom among the running processes.
type depGraph struct {
	groups     []*Group // the groups it was built from, to notice a change
	needs      map[*process.Process][]*process.Process
	missing    map[*process.Process][]string // names that match no running process
	dependents map[*process.Process][]*process.Process
	bound      map[*process.Process][]*process.Process // a -> the processes with bind_to a
}

// graph returns the dependency graph of the running groups, built again
// when the set of groups changed (add, remove, reload).
func (d *Daemon) graph() *depGraph {
	if d.depsFresh {
		return d.deps
	}
	if g := d.deps; g != nil && len(g.groups) == len(d.groups) {
		same := true
		for i := range g.groups {
			same = same && g.groups[i] == d.groups[i]
		}
		if same {
			return g
		}
	}
	g := &depGraph{
		groups:     append([]*Group(nil), d.groups...),
		needs:      map[*process.Process][]*process.Process{},
		missing:    map[*process.Process][]string{},
		dependents: map[*process.Process][]*process.Process{},
		bound:      map[*process.Process][]*process.Process{},
	}
	var cfgs []*config.Group
	byConfig := map[*config.Process]*process.Process{}
	for _, grp := range d.groups {
		cfgs = append(cfgs, grp.Config)
		for _, p := range grp.Processes {
			byConfig[p.Config] = p
		}
	}
	resolve := func(name string) []*process.Process {
		var out []*process.Process
		for _, pc := range config.Resolve(cfgs, name) {
			if q := byConfig[pc]; q != nil {
				out = append(out, q)
			}
		}
		return out
	}
	for _, grp := range d.groups {
		for _, p := range grp.Processes {
			for _, name := range p.Config.Needs() {
				qs := resolve(name)
				if len(qs) == 0 {
					g.missing[p] = append(g.missing[p], name)
				}
				for _, q := range qs {
					if q == p {
						continue // refused at load; never wait for oneself
					}
					g.needs[p] = append(g.needs[p], q)
					g.dependents[q] = append(g.dependents[q], p)
				}
			}
			for _, name := range p.Config.BindTo {
				for _, q := range resolve(name) {
					g.bound[q] = append(g.bound[q], p)
				}
			}
		}
	}
	d.deps = g
	return g
}

// satisfied reports whether q is what a dependent waits for: READY, or a
// one-shot task that exited as expected.
func satisfied(q *process.Process) bool {
	return q.Ready() || (q.State() == process.Exited && expectedExit(q))
}

func expectedExit(q *process.Process) bool {
	for _, c := range q.Config.ExitCodes {
		if c == q.ExitStatus() {
			return true
		}
	}
	return false
}

// gate is process.Runtime.Gate: p may spawn once everything it needs is
// satisfied; it never will while one of them is FATAL.
func (d *Daemon) gate(p *process.Process) (string, bool) {
	g := d.graph()
	for _, q := range g.needs[p] {
		if q.State() == process.Fatal {
			return fmt.Sprintf("dependency %s is FATAL", namespec(q)), true
		}
	}
	if names := g.missing[p]; len(names) > 0 {
		return fmt.Sprintf("waiting for %s: not in the running configuration (removed? supervisorctl add it)", strings.Join(names, ", ")), false
	}
	for _, q := range g.needs[p] {
		if !satisfied(q) {
			return fmt.Sprintf("waiting for %s: %s", namespec(q), whyNotReady(q)), false
		}
	}
	return "", false
}

// whyNotReady says why q is not READY, for the dependents' notes and the
// readiness answer.
func whyNotReady(q *process.Process) string {
	switch st := q.State(); {
	case st == process.Starting && q.Waiting() != "":
		return q.Waiting()
	case st == process.Starting && q.ReadyNote() != "":
		return q.ReadyNote()
	case st == process.Starting:
		return "starting"
	case st == process.Running && q.ReadyNote() != "":
		return "not ready: " + q.ReadyNote()
	case st == process.Running:
		return "not ready yet"
	case st == process.Backoff || st == process.Fatal:
		if q.SpawnErr() != "" {
			return fmt.Sprintf("%s (%s)", st, q.SpawnErr())
		}
		return st.String()
	case st == process.Exited:
		return fmt.Sprintf("EXITED (exit status %d)", q.ExitStatus())
	case st == process.Stopped && q.LastStart().IsZero():
		return "not started yet"
	default:
		return st.String()
	}
}

func namespec(p *process.Process) string { return MakeNamespec(p.Group(), p.Name()) }

// launch starts p as an API call asks: first whatever it needs that is
// not running (stopped, exited or FATAL; not a one-shot that exited as
// expected), then p, which waits for them. It returns a spawned pid or 0.
func (d *Daemon) launch(p *process.Process, now time.Time) int {
	d.startNeeds(p, now, map[*process.Process]bool{p: true})
	return p.Begin(now)
}

func (d *Daemon) startNeeds(p *process.Process, now time.Time, seen map[*process.Process]bool) {
	for _, q := range d.graph().needs[p] {
		if seen[q] {
			continue
		}
		seen[q] = true
		st := q.State()
		if !st.IsStopped() || satisfied(q) || st == process.Unknown {
			continue
		}
		d.startNeeds(q, now, seen)
		d.log.Log(config.LevelInfo, "%s: starting %s first, as %s depends on it", p.Name(), namespec(q), p.Name())
		d.track(q, q.Begin(now))
	}
}

// readinessPass runs before the processes' transitions on each pass of
// the loop: bind_to restarts, relaunches, stop requests, and what waiting
// processes need that was never started.
func (d *Daemon) readinessPass(now time.Time) {
	d.depsFresh = false
	g := d.graph()
	// Until the pass ends (passDone) the groups do not change: the
	// gates of a thousand waiting processes need not compare them again.
	d.depsFresh = true
	running := d.mood == process.MoodRunning
	for _, q := range d.unbound {
		if running && !q.State().IsStopped() {
			d.log.Log(config.LevelInfo, "%s: restarting it, as a process it is bound to (bind_to) left RUNNING", q.Name())
			d.relaunch[q] = true
			d.requestStop(q, now)
		}
	}
	d.unbound = d.unbound[:0]
	for p := range d.stopReq {
		if p.State().IsStopped() {
			delete(d.stopReq, p)
			continue
		}
		if d.dependentsStopped(p) {
			delete(d.stopReq, p)
			if st := p.State(); st != process.Stopping {
				p.Stop(now)
			}
		}
	}
	for p := range d.relaunch {
		if !running {
			delete(d.relaunch, p)
		} else if p.State().IsStopped() && !d.stopReq[p] {
			delete(d.relaunch, p)
			d.track(p, p.Begin(now))
		}
	}
	if !running {
		d.stoppedWith = nil
		return
	}
	d.restartStoppedWith(now)
	// A waiting process starts what it needs that nobody started yet (a
	// dependency with autostart=false); what an administrator stopped
	// stays stopped until `start`.
	for _, grp := range d.groups {
		for _, p := range grp.Processes {
			if p.Waiting() == "" || p.State() != process.Starting {
				continue
			}
			for _, q := range g.needs[p] {
				if q.State() == process.Stopped && q.LastStart().IsZero() && q.Waiting() == "" && !d.begunDeps[q] {
					d.begunDeps[q] = true
					d.log.Log(config.LevelInfo, "%s: starting %s, as %s depends on it", p.Name(), namespec(q), p.Name())
					d.track(q, q.Begin(now))
				}
			}
		}
	}
}

// dependentsStopped reports whether every process that needs p is stopped.
func (d *Daemon) dependentsStopped(p *process.Process) bool {
	for _, q := range d.graph().dependents[p] {
		if !q.State().IsStopped() {
			return false
		}
	}
	return true
}

// requestStop stops p once every process that needs it is stopped (those
// are asked to stop first). It returns an error message, or "".
func (d *Daemon) requestStop(p *process.Process, now time.Time) string {
	if d.stopReq[p] || p.State() == process.Stopping {
		return ""
	}
	if d.dependentsStopped(p) {
		return p.Stop(now)
	}
	d.stopReq[p] = true
	for _, q := range d.graph().dependents[p] {
		if !q.State().IsStopped() && !d.stopReq[q] && q.State() != process.Stopping {
			d.log.Log(config.LevelInfo, "stopping %s first, as it depends on %s", namespec(q), namespec(p))
			if d.mood == process.MoodRunning {
				if d.stoppedWith == nil {
					d.stoppedWith = map[*process.Process]map[*process.Process]bool{}
				}
				if d.stoppedWith[q] == nil {
					d.stoppedWith[q] = map[*process.Process]bool{}
				}
				d.stoppedWith[q][p] = true
			}
			d.requestStop(q, now)
		}
	}
	return ""
}

// restartStoppedWith starts again the dependents that were stopped only
// because what they depend on was asked to stop, once all of that is
// started again: `supervisorctl restart caddy` (a stop, then a start)
// brings back what depends on caddy, and so does a ready_restart. They
// wait for it as at boot (depends_on). One that someone started or stopped
// by itself meanwhile is left as it is (forget).
func (d *Daemon) restartStoppedWith(now time.Time) {
	for q, with := range d.stoppedWith {
		st := q.State()
		if st == process.Stopping || d.stopReq[q] {
			continue // still on its way down
		}
		if !st.IsStopped() {
			delete(d.stoppedWith, q) // started again some other way
			continue
		}
		var names []string
		for p := range with {
			if ps := p.State(); ps.IsStopped() || ps == process.Stopping || ps == process.Unknown {
				names = nil
				break
			}
			names = append(names, namespec(p))
		}
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		delete(d.stoppedWith, q)
		d.log.Log(config.LevelInfo, "starting %s again, as it was stopped with %s", namespec(q), strings.Join(names, ", "))
		d.track(q, q.Begin(now))
	}
}

// forget drops what restartStoppedWith knows of p: an API call started
// or stopped it by itself.
func (d *Daemon) forget(p *process.Process) { delete(d.stoppedWith, p) }

// orderOnState notes, for bind_to, a process that left RUNNING without
// being asked to stop.
func (d *Daemon) orderOnState(p *process.Process, from, to process.State) {
	if to == process.Fatal || to == process.Exited || to.IsStopped() {
		d.repass = true // a dependent may go FATAL, or be done waiting
	}
	if from != process.Running || to == process.Stopping || d.mood != process.MoodRunning {
		return
	}
	d.unbound = append(d.unbound, d.graph().bound[p]...)
}

// passDone ends the pass that readinessPass began.
func (d *Daemon) passDone() { d.depsFresh = false }

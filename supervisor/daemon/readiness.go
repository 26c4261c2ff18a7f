package daemon

// The container's readiness: whether every autostart process is READY,
// which are not and why, and when each became ready (boot-phase timing).
// supervisorctl ready and supervisor.getReadiness answer from here.

import (
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// Readiness is the answer for the whole daemon.
type Readiness struct {
	// Ready is true when every required process is ready.
	Ready     bool
	Processes []ProcessReadiness
}

// ProcessReadiness is one process's part of the answer.
type ProcessReadiness struct {
	Group, Name string
	State       process.State
	// Ready: READY (RUNNING and its ready check passed), or a one-shot
	// that exited with an expected exit code.
	Ready bool
	// Required processes must be ready for the daemon to be: autostart
	// ones, unless someone stopped them on purpose (a person who stops an
	// app does not make the box unready for its probes).
	Required bool
	// Reason says why it is not ready ("" when it is).
	Reason string
	// Needs are the namespecs it waits for (depends_on and bind_to).
	Needs []string
	// ReadyAt is when it last became READY; TimeToReady how long after
	// its spawn, SinceBoot how long after supervisord started (zero when
	// not ready since its last start).
	ReadyAt     time.Time
	TimeToReady time.Duration
	SinceBoot   time.Duration
}

// readyRecord is when a process last became READY.
type readyRecord struct {
	ready bool
	at    time.Time
	after time.Duration
}

// noteReady records, after each transition, when a process becomes READY
// or stops being so.
func (d *Daemon) noteReady(p *process.Process, now time.Time) {
	r := d.readyLog[p]
	ok := p.Ready()
	if ok == r.ready {
		return
	}
	r.ready = ok
	if ok {
		r.at, r.after = now, now.Sub(p.LastStart())
		// Without a check READY is RUNNING, which "success:" said
		// already (at INFO, the log stays Python's line for line).
		level, how := config.LevelDebug, "RUNNING, no ready check"
		if c := p.Config.Ready; c != nil {
			level, how = config.LevelInfo, c.Text
		}
		d.log.Log(level, "ready: %s is ready %.3fs after its start (%s)", p.Name(), r.after.Seconds(), how)
	} else {
		r.at, r.after = time.Time{}, 0
	}
	d.readyLog[p] = r
	d.repass = true
	d.notifyChange()
}

// Readiness returns the answer. It runs on the event loop.
func (d *Daemon) Readiness() Readiness {
	out := Readiness{Ready: true}
	g := d.graph()
	for _, grp := range d.groups {
		for _, p := range grp.Processes {
			r := ProcessReadiness{
				Group: grp.Config.Name, Name: p.Name(), State: p.State(),
				Ready: satisfied(p), Required: p.Config.Autostart && !stoppedOnRequest(p),
			}
			for _, q := range g.needs[p] {
				r.Needs = append(r.Needs, namespec(q))
			}
			r.Needs = append(r.Needs, g.missing[p]...)
			if !r.Ready {
				r.Reason = whyNotReady(p)
				if r.Required {
					out.Ready = false
				}
			}
			if rec := d.readyLog[p]; rec.ready {
				r.ReadyAt, r.TimeToReady, r.SinceBoot = rec.at, rec.after, rec.at.Sub(d.bootAt)
			}
			out.Processes = append(out.Processes, r)
		}
	}
	return out
}

// stoppedOnRequest reports whether a process is STOPPED after having
// started: only a stop request (supervisorctl stop, the API) leaves one
// there; exits end in EXITED, BACKOFF or FATAL.
func stoppedOnRequest(p *process.Process) bool {
	return p.State() == process.Stopped && !p.LastStart().IsZero()
}

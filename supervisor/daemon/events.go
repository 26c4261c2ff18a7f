package daemon

import (
	"strconv"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/events"
	"github.com/gpudesk/runtime/supervisor/internal/pystr"
	"github.com/gpudesk/runtime/supervisor/process"
)

// poolLog adapts the daemon log to what a listener pool reports.
type poolLog struct{ l func() *Logger }

func (p poolLog) Warn(f string, a ...any)  { p.l().Log(config.LevelWarn, f, a...) }
func (p poolLog) Error(f string, a ...any) { p.l().Log(config.LevelError, f, a...) }
func (p poolLog) Debug(f string, a ...any) { p.l().Log(config.LevelDebug, f, a...) }

// listenerProc is a process as its pool sees it.
type listenerProc struct{ p *process.Process }

func (l listenerProc) Name() string              { return l.p.Name() }
func (l listenerProc) Running() bool             { return l.p.State() == process.Running }
func (l listenerProc) WriteStdin(b []byte) error { return l.p.WriteStdin(b) }

// addPool subscribes an [eventlistener:x] group's pool.
func (d *Daemon) addPool(g *Group) {
	if g.Config.Kind != config.KindEventListener {
		return
	}
	pool := events.NewPool(g.Config.Name, d.cfg.Supervisord.Identifier, g.Config.BufferSize, g.Config.Events, poolLog{func() *Logger { return d.log }})
	ls := make([]events.Listener, len(g.Processes))
	for i, p := range g.Processes {
		ls[i] = listenerProc{p}
	}
	pool.SetListeners(ls)
	g.pool = pool
	d.bus.Add(pool)
}

func (d *Daemon) removePool(g *Group) {
	if g.pool != nil {
		d.bus.Remove(g.pool)
	}
}

// poolOf returns the pool a process listens in, or nil.
func (d *Daemon) poolOf(p *process.Process) *events.Pool {
	for _, g := range d.groups {
		if g.pool != nil && g.Config.Name == p.Group() {
			return g.pool
		}
	}
	return nil
}

// stateEvent publishes a PROCESS_STATE_* event for a state change, with
// the fields supervisor adds for each state.
func (d *Daemon) stateEvent(p *process.Process, from, to process.State, expected bool) {
	if to == process.Starting {
		if pool := d.poolOf(p); pool != nil {
			pool.Started(p.Name())
		}
	}
	if !d.bus.Subscribed("PROCESS_STATE_" + to.String()) {
		return
	}
	pid := strconv.Itoa(p.PID())
	var extra []string
	switch to {
	case process.Starting, process.Backoff:
		extra = []string{"tries", strconv.Itoa(p.Backoff())}
	case process.Exited:
		e := "0"
		if expected {
			e = "1"
		}
		extra = []string{"expected", e, "pid", pid}
	case process.Running, process.Stopping, process.Stopped:
		extra = []string{"pid", pid}
	}
	d.bus.Publish(events.ProcessState(to.String(), p.Name(), p.Group(), from.String(), extra...))
}

// output handles what the capture goroutines send, on the loop.
func (d *Daemon) output(o process.Output) {
	p := o.Process
	switch o.Kind {
	case "listener":
		if pool := d.poolOf(p); pool != nil {
			pool.Output(p.Name(), o.Data)
		}
	case "log":
		d.bus.Publish(events.ProcessLog(o.Channel, p.Name(), p.Group(), o.PID, o.Data))
	case "comm":
		d.log.Log(config.LevelDebug, "%s %s emitted a comm event", pystr.Repr(p.Name()), o.Channel)
		d.bus.Publish(events.ProcessCommunication(o.Channel, p.Name(), p.Group(), o.PID, o.Data))
	}
}

// dispatchEvents sends buffered events to ready listeners.
func (d *Daemon) dispatchEvents() {
	for _, g := range d.groups {
		if g.pool != nil && g.pool.Buffered() > 0 {
			g.pool.Dispatch()
		}
	}
}

var tickPeriods = []struct {
	typ    string
	period int64
}{{events.Tick5, 5}, {events.Tick60, 60}, {events.Tick3600, 3600}}

// tick publishes TICK_* events when a period starts, as supervisor does;
// it returns when the next tick is due (zero when nobody listens).
func (d *Daemon) tick(now time.Time) time.Time {
	var next time.Time
	t := now.Unix()
	for _, tp := range tickPeriods {
		if !d.bus.Subscribed(tp.typ) {
			continue
		}
		slice := t - t%tp.period
		last, seen := d.ticks[tp.period]
		d.ticks[tp.period] = slice
		if seen && slice != last {
			d.bus.Publish(events.Tick(tp.typ, slice))
		}
		due := time.Unix(slice+tp.period, 0)
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

// PublishRemote publishes a REMOTE_COMMUNICATION event (on the loop).
func (d *Daemon) PublishRemote(typ, data string) {
	d.bus.Publish(events.Remote(typ, data))
}

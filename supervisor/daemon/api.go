package daemon

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/events"
	"github.com/gpudesk/runtime/supervisor/process"
)

// The methods in this file read and change the daemon's state. They must
// run on the event loop: inside a function passed to Do.

// Errors of the group operations.
var (
	ErrNoGroup      = errors.New("no such group")
	ErrAlreadyAdded = errors.New("group already added")
	ErrStillRunning = errors.New("group has processes that are not stopped")
)

// Groups returns the running groups in priority order.
func (d *Daemon) Groups() []*Group { return d.groups }

// Group returns the running group of that name, or nil.
func (d *Daemon) Group(name string) *Group { return d.group(name) }

// Config returns the running configuration.
func (d *Daemon) Config() *config.Config { return d.cfg }

// KnownGroups returns the groups of the configuration as last read.
func (d *Daemon) KnownGroups() []*config.Group { return d.known }

// Mood returns the daemon's state.
func (d *Daemon) Mood() process.Mood { return d.mood }

// SetMood asks the daemon to shut down (MoodShutdown) or restart
// (MoodRestarting).
func (d *Daemon) SetMood(m process.Mood) { d.setMood(m) }

// setMood changes the daemon's state and wakes the waiters of Changed
// (clients waiting for a process see the shutdown at once).
func (d *Daemon) setMood(m process.Mood) {
	if d.mood == m {
		return
	}
	d.mood = m
	d.notifyChange()
}

// Logger returns the daemon log.
func (d *Daemon) Logger() *Logger { return d.log }

// PID is supervisord's pid.
func (d *Daemon) PID() int { return os.Getpid() }

// StartProcess starts p now, as an API call asks: what p depends on
// (depends_on, bind_to) that is not running is started first, and p waits
// in STARTING for it; otherwise the daemon spawns it,
// tracks its pid so that the exit reaches it, collects it at once if it
// died straight away, and moves it on to RUNNING when startsecs is 0.
// Afterwards p.SpawnErr() says whether the spawn failed. The daemon is
// the only place that spawns, tracks and reaps.
func (d *Daemon) StartProcess(p *process.Process) {
	now := time.Now()
	d.forget(p)
	d.track(p, d.launch(p, now))
	d.reap()
	if p.SpawnErr() != "" {
		return
	}
	d.track(p, p.Transition(now, d.mood))
}

// StopProcess sends p its stop signal, as an API call asks, and collects
// it at once if it is already gone; processes that depend on p are
// stopped first, and p once they are. It returns an error message, or "".
func (d *Daemon) StopProcess(p *process.Process) string {
	d.forget(p)
	if msg := d.requestStop(p, time.Now()); msg != "" {
		return msg
	}
	d.reap()
	return ""
}

// track records a pid spawned by a process's Spawn or Transition, so that
// its exit reaches the process.
func (d *Daemon) track(p *process.Process, pid int) {
	if pid > 0 {
		d.pids[pid] = p
		d.spawned++
	}
}

// ReloadConfig reads the configuration again and returns what differs from
// the running groups: added, changed and removed group names. Nothing
// running changes; the new groups become the known ones.
func (d *Daemon) ReloadConfig() (added, changed, removed []string, err error) {
	if d.opts.Reload == nil {
		return nil, nil, nil, errors.New("no configuration file to read")
	}
	cfg, err := d.opts.Reload()
	if err != nil {
		return nil, nil, nil, err
	}
	d.known = cfg.Groups
	added, changed, removed = d.diff(cfg.Groups)
	return added, changed, removed, nil
}

// SameGroup reports whether two group configurations are equal, ignoring
// where in the files they were written.
func SameGroup(a, b *config.Group) bool {
	if a.Name != b.Name || a.Kind != b.Kind || a.Priority != b.Priority ||
		a.BufferSize != b.BufferSize || a.ResultHandler != b.ResultHandler ||
		!reflect.DeepEqual(a.Events, b.Events) || !reflect.DeepEqual(a.Socket, b.Socket) ||
		len(a.Processes) != len(b.Processes) {
		return false
	}
	for i := range a.Processes {
		x, y := *a.Processes[i], *b.Processes[i]
		x.At, y.At = config.Origin{}, config.Origin{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// AddGroup starts managing the known group of that name (its autostart
// processes start at the next pass of the loop).
func (d *Daemon) AddGroup(name string) error {
	for _, gc := range d.known {
		if gc.Name != name {
			continue
		}
		if d.group(name) != nil {
			return ErrAlreadyAdded
		}
		g := d.newGroup(gc)
		d.groups = append(d.groups, g)
		d.bus.Publish(events.Group(events.ProcessGroupAdded, name))
		sort.SliceStable(d.groups, func(i, j int) bool {
			return d.groups[i].Config.Priority < d.groups[j].Config.Priority
		})
		d.notifyChange()
		return nil
	}
	return ErrNoGroup
}

// RemoveGroup stops managing a group whose processes are all stopped.
func (d *Daemon) RemoveGroup(name string) error {
	for i, g := range d.groups {
		if g.Config.Name != name {
			continue
		}
		for _, p := range g.Processes {
			if !p.State().IsStopped() {
				return ErrStillRunning
			}
		}
		// The capture goroutines end on their own (writes after the close
		// are dropped); closeGroups waits for them at the next reload or
		// exit.
		for _, p := range g.Processes {
			p.CloseLogs()
		}
		d.retired = append(d.retired, g.Processes...)
		d.removePool(g)
		d.groups = append(d.groups[:i:i], d.groups[i+1:]...)
		d.bus.Publish(events.Group(events.ProcessGroupRemoved, name))
		d.notifyChange()
		return nil
	}
	return ErrNoGroup
}

// newGroup creates a group's processes and names their log files. No log
// is opened until its process starts, and a log that cannot be made is
// that process's spawn error later, never the group's: a reload with a
// missing childlogdir or no descriptors left keeps the daemon running.
func (d *Daemon) newGroup(gc *config.Group) *Group {
	g := &Group{Config: gc}
	for _, pc := range gc.Processes {
		if pc.Stdout.Syslog || pc.Stderr.Syslog {
			d.log.Log(config.LevelWarn, "%s: sending output to syslog is not supported; it goes only to the log files", pc.Name)
		}
		p := process.New(pc, d.rt)
		p.SetLogs(d.logTarget(pc, "stdout", pc.Stdout), d.logTarget(pc, "stderr", pc.Stderr))
		g.Processes = append(g.Processes, p)
	}
	d.addPool(g)
	return g
}

// Process returns the process named by a namespec ("name" or
// "group:name"); with "group:" or "group:*" it returns the group and a
// nil process.
func (d *Daemon) Process(namespec string) (*Group, *process.Process, error) {
	groupName, procName := SplitNamespec(namespec)
	g := d.group(groupName)
	if g == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoGroup, namespec)
	}
	if procName == "" {
		return g, nil, nil
	}
	for _, p := range g.Processes {
		if p.Name() == procName {
			return g, p, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: %s", ErrNoGroup, namespec)
}

// SplitNamespec splits "group:name" as supervisor does: "x" is group x,
// process x; "g:" and "g:*" are the whole group (process "").
func SplitNamespec(spec string) (group, name string) {
	g, n, ok := cutColon(spec)
	if !ok {
		return spec, spec
	}
	if n == "*" {
		n = ""
	}
	return g, n
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// MakeNamespec is the name supervisor shows: "name" when the process is
// alone in a group of its name, else "group:name".
func MakeNamespec(group, name string) string {
	if group == name {
		return name
	}
	return group + ":" + name
}

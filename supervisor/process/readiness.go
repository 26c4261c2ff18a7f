package process

// Start order and readiness. A process whose dependencies are not ready
// waits in STARTING without a pid, with a note that says why (what
// getProcessInfo's description shows); a process with a ready= check stays
// STARTING after startsecs until the daemon reports the check passed, and
// a start that is not ready within ready_timeout fails like one that
// exited too quickly. The daemon runs the checks and decides the gate; the
// process only keeps the answers and moves accordingly.

import (
	"fmt"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
)

// Gate is the daemon's answer to "may p be spawned now": "" when it may,
// else why not; fatal when it never will (a dependency is FATAL).
type Gate func(p *Process) (reason string, fatal bool)

// Waiting returns why the process waits to be spawned, or "" when it does
// not wait.
func (p *Process) Waiting() string { return p.waiting }

// Note is what getProcessInfo describes a STARTING process with: why it
// waits, or why its ready check has not passed yet ("" when neither).
func (p *Process) Note() string {
	if p.state != Starting {
		return ""
	}
	if p.waiting != "" {
		return p.waiting
	}
	if p.note != "" && !p.ready {
		return "not ready: " + p.note
	}
	return ""
}

// Ready reports whether the process is READY: RUNNING, and its ready
// check (if it has one) passed last time it was decided.
func (p *Process) Ready() bool {
	return p.state == Running && (p.Config.Ready == nil || p.ready)
}

// ReadyAt is when the process last became READY (zero: not since its
// spawn).
func (p *Process) ReadyAt() time.Time { return p.readyAt }

// ReadyNote is the last reason the ready check gave for failing.
func (p *Process) ReadyNote() string { return p.note }

// SetReady records the daemon's verdict on the ready check of the running
// process: ok, or not with the reason. It returns whether READY changed.
func (p *Process) SetReady(ok bool, reason string, now time.Time) bool {
	was := p.Ready()
	p.note = reason
	if ok == p.ready {
		return false
	}
	p.ready = ok
	if ok && p.readyAt.IsZero() {
		p.readyAt = now
	}
	if !ok {
		p.readyAt = time.Time{}
	}
	return was != p.Ready()
}

// begin spawns the process if the gate is open, or makes it wait in
// STARTING (or go FATAL when it never can start). It returns the new pid,
// or 0.
func (p *Process) begin(now time.Time) int {
	p.begun = true
	if p.rt.Gate != nil {
		if reason, fatal := p.rt.Gate(p); reason != "" {
			if fatal {
				p.dependencyFatal(reason, now)
				return 0
			}
			p.wait(reason, now)
			return 0
		}
	}
	p.waiting = ""
	return p.Spawn(now)
}

// wait puts the process in STARTING without a pid, for reason.
func (p *Process) wait(reason string, now time.Time) {
	if p.waiting == "" {
		p.logf(config.LevelInfo, "waiting: %s is not started yet, %s", p.Config.Name, reason)
	}
	p.waiting = reason
	p.spawnErr = ""
	p.delay = time.Time{}
	p.changeState(Starting, true, now)
}

func (p *Process) dependencyFatal(reason string, now time.Time) {
	p.waiting = ""
	p.spawnErr = reason
	p.delay = time.Time{}
	p.backoff = 0
	if p.state != Starting {
		p.changeState(Starting, true, now)
	}
	p.changeState(Fatal, true, now)
	p.logf(config.LevelInfo, "gave up: %s entered FATAL state, %s", p.Config.Name, reason)
}

// Begin starts the process as an API call asks: spawned if its gate is
// open, else waiting. It returns the new pid, or 0.
func (p *Process) Begin(now time.Time) int { return p.begin(now) }

// waitingTransition re-checks the gate of a waiting process.
func (p *Process) waitingTransition(now time.Time) int {
	return p.begin(now)
}

// startedTransition moves a spawned STARTING process on: RUNNING once
// startsecs passed and its ready check (if any) passed; a failed start
// once ready_timeout passed without the check passing.
func (p *Process) startedTransition(now time.Time) {
	name := p.Config.Name
	if now.Sub(p.laststart) <= time.Duration(p.Config.StartSecs)*time.Second {
		return
	}
	if p.Config.Ready != nil && !p.ready {
		if p.Config.ReadyTimeout > 0 && now.Sub(p.laststart) >= p.Config.ReadyTimeout && !p.killing {
			reason := p.note
			if reason == "" {
				reason = "no answer yet"
			}
			p.failStart = fmt.Sprintf("not ready after %s (ready_timeout): %s", p.Config.ReadyTimeout, reason)
			p.logf(config.LevelWarn, "not ready: %s is not ready after %s (%s: %s), stopping it as a failed start", name, p.Config.ReadyTimeout, p.Config.Ready.Text, reason)
			p.Kill(p.Config.StopSignal, now)
		}
		return
	}
	p.delay = time.Time{}
	p.backoff = 0
	p.changeState(Running, true, now)
	p.logf(config.LevelInfo, "success: %s entered RUNNING state, process has stayed up for > than %d seconds (startsecs)", name, p.Config.StartSecs)
}

// startedDeadline is when startedTransition next has work to do.
func (p *Process) startedDeadline() time.Time {
	t := p.laststart.Add(time.Duration(p.Config.StartSecs)*time.Second + time.Millisecond)
	if p.Config.Ready != nil && !p.ready && p.Config.ReadyTimeout > 0 {
		if rt := p.laststart.Add(p.Config.ReadyTimeout); rt.After(t) {
			return rt
		}
	}
	return t
}

package process

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/ready"
)

// noSuchPid is a pid above any pid_max: signalling it fails with ESRCH, so
// a hand-made "running" process can be stopped without touching anyone.
const noSuchPid = 1 << 30

func gated(t *testing.T, mod func(*config.Process), gate *struct {
	reason string
	fatal  bool
}) (*Process, *recorder) {
	p, r := newMachine(t, mod)
	p.rt.Gate = func(*Process) (string, bool) { return gate.reason, gate.fatal }
	return p, r
}

func TestProcess_Transition_gate(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gate := &struct {
		reason string
		fatal  bool
	}{reason: "waiting for caddy: dial tcp 127.0.0.1:1111: connect: connection refused"}

	t.Run("closed gate waits in STARTING without a pid", func(t *testing.T) {
		p, r := gated(t, nil, gate)
		if pid := p.Transition(t0, MoodRunning); pid != 0 || p.started != 0 {
			t.Fatalf("spawned (pid %d, %d spawns) behind a closed gate", pid, p.started)
		}
		if p.State() != Starting || p.PID() != 0 || p.Note() != gate.reason || p.Waiting() != gate.reason {
			t.Fatalf("state %s pid %d note %q", p.State(), p.PID(), p.Note())
		}
		if !p.NextDeadline().IsZero() {
			t.Errorf("a waiting process has a deadline %v", p.NextDeadline())
		}
		p.Transition(t0.Add(time.Hour), MoodRunning)
		if !equal(r.states, []string{"STOPPED->STARTING"}) || p.State() != Starting {
			t.Errorf("states %v, now %s: waiting must not time out", r.states, p.State())
		}
	})
	t.Run("open gate spawns", func(t *testing.T) {
		p, r := gated(t, nil, gate)
		p.Transition(t0, MoodRunning)
		g := *gate
		gate.reason = ""
		defer func() { *gate = g }()
		p.Transition(t0.Add(time.Second), MoodRunning)
		// The test command does not exist: the spawn fails into BACKOFF,
		// which shows it was attempted.
		if !equal(r.states, []string{"STOPPED->STARTING", "STARTING->BACKOFF"}) || !strings.Contains(p.SpawnErr(), "can't find command") {
			t.Errorf("states %v, spawnerr %q", r.states, p.SpawnErr())
		}
	})
	t.Run("fatal dependency makes it FATAL", func(t *testing.T) {
		p, r := gated(t, nil, gate)
		p.Transition(t0, MoodRunning)
		g := *gate
		*gate = struct {
			reason string
			fatal  bool
		}{"dependency caddy is FATAL", true}
		defer func() { *gate = g }()
		p.Transition(t0.Add(time.Second), MoodRunning)
		if p.State() != Fatal || p.SpawnErr() != "dependency caddy is FATAL" || !equal(r.states, []string{"STOPPED->STARTING", "STARTING->FATAL"}) {
			t.Errorf("state %s spawnerr %q states %v", p.State(), p.SpawnErr(), r.states)
		}
		if !contains(r.infoLines(), "INFO gave up: x entered FATAL state, dependency caddy is FATAL") {
			t.Errorf("log %v", r.lines)
		}
	})
	t.Run("stop while waiting is STOPPED at once and autostart is done", func(t *testing.T) {
		p, r := gated(t, nil, gate)
		p.Transition(t0, MoodRunning)
		if msg := p.Stop(t0); msg != "" {
			t.Fatal(msg)
		}
		p.Transition(t0.Add(time.Second), MoodRunning)
		if p.State() != Stopped || !equal(r.states, []string{"STOPPED->STARTING", "STARTING->STOPPED"}) {
			t.Errorf("state %s, states %v", p.State(), r.states)
		}
	})
	t.Run("not autostart: nothing happens", func(t *testing.T) {
		p, r := gated(t, func(c *config.Process) { c.Autostart = false }, gate)
		p.Transition(t0, MoodRunning)
		if p.State() != Stopped || len(r.states) != 0 {
			t.Errorf("state %s states %v", p.State(), r.states)
		}
	})
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// started puts p in STARTING with a pid, as a spawn at t0 would.
func started(p *Process, t0 time.Time) {
	p.state, p.pid, p.laststart = Starting, noSuchPid, t0
	p.begun = true
}

func TestProcess_Transition_readyCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	check := ready.Check{Kind: ready.TCP, Target: "127.0.0.1:1", Text: "tcp:127.0.0.1:1"}
	withCheck := func(c *config.Process) {
		c.Ready = &check
		c.ReadyTimeout = 30 * time.Second
	}

	t.Run("RUNNING only once startsecs passed and the check passed", func(t *testing.T) {
		p, r := newMachine(t, withCheck)
		started(p, t0)
		p.SetReady(false, "connection refused", t0)
		p.Transition(t0.Add(5*time.Second), MoodRunning)
		if p.State() != Starting || p.Note() != "not ready: connection refused" {
			t.Fatalf("state %s note %q", p.State(), p.Note())
		}
		if d := p.NextDeadline(); !d.Equal(t0.Add(30 * time.Second)) {
			t.Errorf("deadline %v, want the ready_timeout", d)
		}
		if changed := p.SetReady(false, "still refused", t0); changed || p.Ready() {
			t.Error("a failure changed readiness, or it is ready without a pass")
		}
		p.SetReady(true, "", t0.Add(6*time.Second))
		p.Transition(t0.Add(6*time.Second), MoodRunning)
		if p.State() != Running || !p.Ready() || !p.ReadyAt().Equal(t0.Add(6*time.Second)) {
			t.Fatalf("state %s ready %v at %v", p.State(), p.Ready(), p.ReadyAt())
		}
		if !equal(r.states, []string{"STARTING->RUNNING"}) {
			t.Errorf("states %v", r.states)
		}
		if changed := p.SetReady(false, "gone", t0.Add(time.Minute)); !changed || p.Ready() || p.State() != Running {
			t.Errorf("lost readiness: changed %v ready %v state %s", changed, p.Ready(), p.State())
		}
	})
	t.Run("a check that passes before startsecs waits for startsecs", func(t *testing.T) {
		p, _ := newMachine(t, withCheck)
		started(p, t0)
		p.SetReady(true, "", t0.Add(100*time.Millisecond))
		p.Transition(t0.Add(500*time.Millisecond), MoodRunning)
		if p.State() != Starting {
			t.Fatalf("state %s before startsecs", p.State())
		}
		p.Transition(t0.Add(2*time.Second), MoodRunning)
		if p.State() != Running {
			t.Fatalf("state %s after startsecs", p.State())
		}
	})
	t.Run("ready_timeout is a failed start", func(t *testing.T) {
		p, r := newMachine(t, withCheck)
		started(p, t0)
		p.SetReady(false, "connection refused", t0)
		p.Transition(t0.Add(30*time.Second), MoodRunning)
		if p.State() != Stopping {
			t.Fatalf("state %s, want STOPPING after ready_timeout", p.State())
		}
		p.Finish(killedBy(syscall.SIGTERM, false), t0.Add(31*time.Second))
		want := "not ready after 30s (ready_timeout): connection refused"
		if p.State() != Backoff || p.SpawnErr() != want || p.Backoff() != 1 {
			t.Fatalf("state %s spawnerr %q backoff %d", p.State(), p.SpawnErr(), p.Backoff())
		}
		if !equal(r.states, []string{"STARTING->STOPPING", "STOPPING->BACKOFF"}) {
			t.Errorf("states %v", r.states)
		}
	})
	t.Run("without a check READY is RUNNING", func(t *testing.T) {
		p, _ := newMachine(t, nil)
		started(p, t0)
		if p.Ready() {
			t.Error("ready while STARTING")
		}
		p.Transition(t0.Add(2*time.Second), MoodRunning)
		if !p.Ready() {
			t.Errorf("not ready in %s", p.State())
		}
	})
}

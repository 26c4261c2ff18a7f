package process

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
)

// The state machine, table-tested without forking: Finish and Transition
// take the time and the wait status, so a process can be put in any state
// and moved by hand. Spawns use a command that does not exist, which fails
// before any fork, as Python's spawnerr path does.

// recorder is a Logger and OnState that keeps what happened, in order.
type recorder struct {
	lines  []string
	states []string
}

func levelName(l config.LogLevel) string {
	switch l {
	case config.LevelCritical:
		return "CRIT"
	case config.LevelError:
		return "ERRO"
	case config.LevelWarn:
		return "WARN"
	case config.LevelInfo:
		return "INFO"
	case config.LevelDebug:
		return "DEBG"
	case config.LevelTrace:
		return "TRAC"
	}
	return "BLAT"
}

func (r *recorder) Log(level config.LogLevel, format string, args ...any) {
	r.lines = append(r.lines, levelName(level)+" "+fmt.Sprintf(format, args...))
}

// infoLines are the lines at INFO and above, as a default log shows them.
func (r *recorder) infoLines() []string {
	var out []string
	for _, l := range r.lines {
		if !strings.HasPrefix(l, "DEBG") && !strings.HasPrefix(l, "TRAC") && !strings.HasPrefix(l, "BLAT") {
			out = append(out, l)
		}
	}
	return out
}

func newMachine(t *testing.T, mod func(*config.Process)) (*Process, *recorder) {
	t.Helper()
	cfg := &config.Process{
		Name: "x", Group: "x", Program: "x", Section: "program:x",
		Command:      "/nonexistent/gpudesk-machine-test",
		Umask:        -1,
		UID:          -1,
		Autostart:    true,
		Autorestart:  config.AutorestartUnexpected,
		StartSecs:    1,
		StartRetries: 3,
		StopSignal:   int(syscall.SIGTERM),
		StopWaitSecs: 10,
		ExitCodes:    []int{0},
	}
	if mod != nil {
		mod(cfg)
	}
	r := &recorder{}
	rt := &Runtime{
		Log: r,
		OnState: func(p *Process, from, to State, expected bool) {
			s := from.String() + "->" + to.String()
			if !expected {
				s += "(unexpected)"
			}
			r.states = append(r.states, s)
		},
	}
	return New(cfg, rt), r
}

func exitStatus(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }
func killedBy(sig syscall.Signal, core bool) syscall.WaitStatus {
	ws := syscall.WaitStatus(sig)
	if core {
		ws |= 0x80
	}
	return ws
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestProcess_Finish(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name      string
		cfg       func(*config.Process)
		state     State
		killing   bool
		ranFor    time.Duration
		status    syscall.WaitStatus
		want      State
		wantExit  int
		spawnErr  string
		states    []string
		lines     []string
		wantDelay bool // a BACKOFF retry is scheduled
	}{
		{
			name: "exit within startsecs backs off", state: Starting, ranFor: 500 * time.Millisecond,
			status: exitStatus(0), want: Backoff, spawnErr: "Exited too quickly (process log may have details)",
			states:    []string{"STARTING->BACKOFF"},
			lines:     []string{"WARN exited: x (exit status 0; not expected)"},
			wantDelay: true,
		},
		{
			name: "expected exit after startsecs passes through RUNNING", state: Starting, ranFor: 2 * time.Second,
			status: exitStatus(0), want: Exited,
			states: []string{"STARTING->RUNNING", "RUNNING->EXITED"},
			lines:  []string{"INFO exited: x (exit status 0; expected)"},
		},
		{
			name: "unexpected exit code", state: Running, ranFor: time.Minute,
			status: exitStatus(3), want: Exited, wantExit: 3, spawnErr: "Bad exit code 3",
			states: []string{"RUNNING->EXITED(unexpected)"},
			lines:  []string{"WARN exited: x (exit status 3; not expected)"},
		},
		{
			name: "exit code listed in exitcodes", cfg: func(c *config.Process) { c.ExitCodes = []int{0, 3} },
			state: Running, ranFor: time.Minute, status: exitStatus(3), want: Exited, wantExit: 3,
			states: []string{"RUNNING->EXITED"},
			lines:  []string{"INFO exited: x (exit status 3; expected)"},
		},
		{
			name: "killed by a signal it was not asked to die of", state: Running, ranFor: time.Minute,
			status: killedBy(syscall.SIGSEGV, true), want: Exited, wantExit: -1, spawnErr: "Bad exit code -1",
			states: []string{"RUNNING->EXITED(unexpected)"},
			lines:  []string{"WARN exited: x (terminated by SIGSEGV (core dumped); not expected)"},
		},
		{
			name: "stopped by its stop signal", state: Stopping, killing: true, ranFor: time.Minute,
			status: killedBy(syscall.SIGTERM, false), want: Stopped, wantExit: -1,
			states: []string{"STOPPING->STOPPED"},
			lines:  []string{"WARN stopped: x (terminated by SIGTERM)"},
		},
		{
			name: "stopped with an expected exit code", state: Stopping, killing: true, ranFor: time.Minute,
			status: exitStatus(0), want: Stopped,
			states: []string{"STOPPING->STOPPED"},
			lines:  []string{"INFO stopped: x (exit status 0)"},
		},
		{
			name: "a stop during STARTING is still a stop", state: Stopping, killing: true, ranFor: 100 * time.Millisecond,
			status: killedBy(syscall.SIGTERM, false), want: Stopped, wantExit: -1,
			states: []string{"STOPPING->STOPPED"},
			lines:  []string{"WARN stopped: x (terminated by SIGTERM)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, r := newMachine(t, tc.cfg)
			p.state, p.pid, p.killing = tc.state, 4242, tc.killing
			p.laststart = t0
			now := t0.Add(tc.ranFor)
			p.Finish(tc.status, now)
			if p.State() != tc.want {
				t.Errorf("state %s, want %s", p.State(), tc.want)
			}
			if p.PID() != 0 {
				t.Errorf("pid %d after Finish, want 0", p.PID())
			}
			if p.Killing() {
				t.Error("still killing after Finish")
			}
			if p.ExitStatus() != tc.wantExit {
				t.Errorf("exit status %d, want %d", p.ExitStatus(), tc.wantExit)
			}
			if p.SpawnErr() != tc.spawnErr {
				t.Errorf("spawnerr %q, want %q", p.SpawnErr(), tc.spawnErr)
			}
			if !p.LastStop().Equal(now) {
				t.Errorf("laststop %v, want %v", p.LastStop(), now)
			}
			if !equal(r.states, tc.states) {
				t.Errorf("state changes %q, want %q", r.states, tc.states)
			}
			if !equal(r.infoLines(), tc.lines) {
				t.Errorf("log %q, want %q", r.infoLines(), tc.lines)
			}
			if got := !p.NextDeadline().IsZero(); got != tc.wantDelay {
				t.Errorf("next deadline %v, want one scheduled: %v", p.NextDeadline(), tc.wantDelay)
			}
		})
	}
}

func TestProcess_Transition(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		cfg     func(*config.Process)
		setup   func(p *Process)
		after   time.Duration
		mood    Mood
		want    State
		states  []string
		lines   []string
		spawned int // spawn attempts (all fail: the command does not exist)
	}{
		{
			name:  "STARTING becomes RUNNING after more than startsecs",
			setup: func(p *Process) { p.state, p.pid, p.laststart = Starting, 4242, t0 },
			after: 1001 * time.Millisecond, mood: MoodRunning, want: Running,
			states: []string{"STARTING->RUNNING"},
			lines:  []string{"INFO success: x entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"},
		},
		{
			name:  "STARTING stays STARTING at exactly startsecs",
			setup: func(p *Process) { p.state, p.pid, p.laststart = Starting, 4242, t0 },
			after: time.Second, mood: MoodRunning, want: Starting,
		},
		{
			name:  "STARTING becomes RUNNING even while shutting down",
			setup: func(p *Process) { p.state, p.pid, p.laststart = Starting, 4242, t0 },
			after: 2 * time.Second, mood: MoodShutdown, want: Running,
			states: []string{"STARTING->RUNNING"},
			lines:  []string{"INFO success: x entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"},
		},
		{
			name:  "autostart spawns a never-started process",
			setup: func(p *Process) {},
			mood:  MoodRunning, want: Backoff, spawned: 1,
			states: []string{"STOPPED->STARTING", "STARTING->BACKOFF"},
			lines:  []string{"INFO spawnerr: can't find command '/nonexistent/gpudesk-machine-test'"},
		},
		{
			name:  "autostart=false leaves it STOPPED",
			cfg:   func(c *config.Process) { c.Autostart = false },
			setup: func(p *Process) {},
			mood:  MoodRunning, want: Stopped,
		},
		{
			name:  "nothing starts while restarting",
			setup: func(p *Process) {},
			mood:  MoodRestarting, want: Stopped,
		},
		{
			name:  "a stopped process that ran before is not autostarted again",
			setup: func(p *Process) { p.laststart = t0 },
			mood:  MoodRunning, want: Stopped,
		},
		{
			name:  "autorestart=unexpected restarts after an unexpected exit",
			setup: func(p *Process) { p.state, p.laststart, p.exitStatus, p.hasExited = Exited, t0, 3, true },
			after: time.Minute, mood: MoodRunning, want: Backoff, spawned: 1,
			states: []string{"EXITED->STARTING", "STARTING->BACKOFF"},
			lines:  []string{"INFO spawnerr: can't find command '/nonexistent/gpudesk-machine-test'"},
		},
		{
			name:  "autorestart=unexpected leaves an expected exit alone",
			setup: func(p *Process) { p.state, p.laststart, p.exitStatus, p.hasExited = Exited, t0, 0, true },
			after: time.Minute, mood: MoodRunning, want: Exited,
		},
		{
			name:  "autorestart=false leaves an unexpected exit alone",
			cfg:   func(c *config.Process) { c.Autorestart = config.AutorestartFalse },
			setup: func(p *Process) { p.state, p.laststart, p.exitStatus, p.hasExited = Exited, t0, 3, true },
			after: time.Minute, mood: MoodRunning, want: Exited,
		},
		{
			name:  "autorestart=true restarts after an expected exit",
			cfg:   func(c *config.Process) { c.Autorestart = config.AutorestartTrue },
			setup: func(p *Process) { p.state, p.laststart, p.exitStatus, p.hasExited = Exited, t0, 0, true },
			after: time.Minute, mood: MoodRunning, want: Backoff, spawned: 1,
			states: []string{"EXITED->STARTING", "STARTING->BACKOFF"},
			lines:  []string{"INFO spawnerr: can't find command '/nonexistent/gpudesk-machine-test'"},
		},
		{
			name:  "BACKOFF waits for its delay",
			setup: func(p *Process) { p.state, p.laststart, p.backoff, p.delay = Backoff, t0, 1, t0.Add(time.Second) },
			after: time.Second, mood: MoodRunning, want: Backoff,
		},
		{
			name:  "BACKOFF retries after its delay",
			setup: func(p *Process) { p.state, p.laststart, p.backoff, p.delay = Backoff, t0, 1, t0.Add(time.Second) },
			after: 1001 * time.Millisecond, mood: MoodRunning, want: Backoff, spawned: 1,
			states: []string{"BACKOFF->STARTING", "STARTING->BACKOFF"},
			lines:  []string{"INFO spawnerr: can't find command '/nonexistent/gpudesk-machine-test'"},
		},
		{
			name:  "BACKOFF past startretries gives up",
			setup: func(p *Process) { p.state, p.laststart, p.backoff, p.delay = Backoff, t0, 4, t0.Add(4*time.Second) },
			mood:  MoodRunning, want: Fatal,
			states: []string{"BACKOFF->FATAL"},
			lines:  []string{"INFO gave up: x entered FATAL state, too many start retries too quickly"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, r := newMachine(t, tc.cfg)
			tc.setup(p)
			before := p.started
			attempts := 0
			p.rt.OnState = func(p *Process, from, to State, expected bool) {
				if to == Starting {
					attempts++
				}
				s := from.String() + "->" + to.String()
				if !expected {
					s += "(unexpected)"
				}
				r.states = append(r.states, s)
			}
			if pid := p.Transition(t0.Add(tc.after), tc.mood); pid != 0 {
				t.Fatalf("Transition spawned pid %d; the command does not exist", pid)
			}
			if p.started != before {
				t.Errorf("a fork happened (%d spawns)", p.started-before)
			}
			if p.State() != tc.want {
				t.Errorf("state %s, want %s", p.State(), tc.want)
			}
			if attempts != tc.spawned {
				t.Errorf("%d spawn attempts, want %d", attempts, tc.spawned)
			}
			if !equal(r.states, tc.states) {
				t.Errorf("state changes %q, want %q", r.states, tc.states)
			}
			if !equal(r.infoLines(), tc.lines) {
				t.Errorf("log %q, want %q", r.infoLines(), tc.lines)
			}
		})
	}
}

// A command that cannot be found is tried startretries+1 times, one
// second more apart each time, then given up, with Python's log lines.
func TestProcess_BackoffToFatal(t *testing.T) {
	p, r := newMachine(t, func(c *config.Process) { c.StartRetries = 2 })
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var attemptsAt []time.Duration
	start := now
	p.rt.OnState = func(_ *Process, _, to State, _ bool) {
		if to == Starting {
			attemptsAt = append(attemptsAt, now.Sub(start).Round(time.Second))
		}
	}
	for i := 0; i < 100 && p.State() != Fatal; i++ {
		p.Transition(now, MoodRunning)
		next := p.NextDeadline()
		if next.IsZero() {
			break
		}
		if next.After(now) {
			now = next
		}
	}
	if p.State() != Fatal {
		t.Fatalf("state %s after the retries, want FATAL", p.State())
	}
	want := []time.Duration{0, time.Second, 3 * time.Second}
	if len(attemptsAt) != len(want) {
		t.Fatalf("attempts at %v, want at %v", attemptsAt, want)
	}
	for i := range want {
		if attemptsAt[i] != want[i] {
			t.Errorf("attempt %d at %v, want %v (all: %v)", i+1, attemptsAt[i], want[i], attemptsAt)
		}
	}
	spawnerr := "INFO spawnerr: can't find command '/nonexistent/gpudesk-machine-test'"
	wantLines := []string{spawnerr, spawnerr, spawnerr, "INFO gave up: x entered FATAL state, too many start retries too quickly"}
	if !equal(r.infoLines(), wantLines) {
		t.Errorf("log %q, want %q", r.infoLines(), wantLines)
	}
	// A FATAL process stays FATAL: nothing is scheduled.
	if d := p.NextDeadline(); !d.IsZero() {
		t.Errorf("FATAL process has a deadline %v", d)
	}
	p.Transition(now.Add(time.Hour), MoodRunning)
	if p.State() != Fatal {
		t.Errorf("FATAL became %s", p.State())
	}
}

func TestProcess_Kill(t *testing.T) {
	t.Run("BACKOFF goes to STOPPED without a signal", func(t *testing.T) {
		p, r := newMachine(t, nil)
		p.state, p.backoff = Backoff, 1
		if msg := p.Kill(int(syscall.SIGTERM), time.Now()); msg != "" {
			t.Errorf("Kill: %q", msg)
		}
		if p.State() != Stopped {
			t.Errorf("state %s, want STOPPED", p.State())
		}
		if !equal(r.states, []string{"BACKOFF->STOPPED"}) {
			t.Errorf("state changes %q", r.states)
		}
	})
	t.Run("not running", func(t *testing.T) {
		p, _ := newMachine(t, nil)
		p.state = Exited
		want := "attempted to kill x with sig SIGTERM but it wasn't running"
		if msg := p.Kill(int(syscall.SIGTERM), time.Now()); msg != want {
			t.Errorf("Kill: %q, want %q", msg, want)
		}
		if p.State() != Exited {
			t.Errorf("state %s, want EXITED", p.State())
		}
	})
	t.Run("signal not running", func(t *testing.T) {
		p, _ := newMachine(t, nil)
		want := "attempted to send x sig SIGHUP but it wasn't running"
		if msg := p.Signal(int(syscall.SIGHUP), time.Now()); msg != want {
			t.Errorf("Signal: %q, want %q", msg, want)
		}
	})
}

func TestDecodeWaitStatus(t *testing.T) {
	cases := []struct {
		ws   syscall.WaitStatus
		code int
		msg  string
	}{
		{exitStatus(0), 0, "exit status 0"},
		{exitStatus(255), 255, "exit status 255"},
		{killedBy(syscall.SIGKILL, false), -1, "terminated by SIGKILL"},
		{killedBy(syscall.SIGABRT, true), -1, "terminated by SIGABRT (core dumped)"},
		{killedBy(syscall.Signal(40), false), -1, "terminated by signal 40"},
	}
	for _, tc := range cases {
		code, msg := DecodeWaitStatus(tc.ws)
		if code != tc.code || msg != tc.msg {
			t.Errorf("DecodeWaitStatus(%#x) = %d, %q; want %d, %q", int(tc.ws), code, msg, tc.code, tc.msg)
		}
	}
}

package daemon

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// newTestDaemon is a daemon with no log file and no groups, whose event
// loop the test plays itself.
func newTestDaemon(t *testing.T) *Daemon {
	t.Helper()
	d, err := New(&config.Config{Supervisord: config.Supervisord{LogLevel: config.LevelCritical, UID: -1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A function the loop has taken may outlive the caller's context; Do must
// still wait for it, or the caller reads what it writes while it writes.
func TestDaemon_Do_waitsForTheFunctionAfterContextEnds(t *testing.T) {
	d := newTestDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	doReturned := make(chan struct{})
	var returnedEarly atomic.Bool
	go func() { // the event loop
		c := <-d.calls
		c.fn()
		close(c.done)
	}()
	result := 0
	go func() {
		defer close(doReturned)
		d.Do(ctx, func() {
			cancel()
			// Give a wrong Do every chance to return while we still run.
			select {
			case <-doReturned:
				returnedEarly.Store(true)
			case <-time.After(2 * time.Second):
			}
			result = 42
		})
		if result != 42 {
			returnedEarly.Store(true)
		}
	}()
	<-doReturned
	if returnedEarly.Load() {
		t.Fatal("Do returned while its function was still running on the loop")
	}
}

// A context that ends before the loop takes the function: it never runs.
func TestDaemon_Do_contextEndsBeforeTheLoopTakesIt(t *testing.T) {
	d := newTestDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := d.Do(ctx, func() { ran = true }); err != context.Canceled {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	if ran {
		t.Fatal("the function ran although nothing took it")
	}
}

// Clients waiting for a process state (start -w, stop -w) wait on
// Changed; a signal that shuts the daemon down or restarts it must wake
// them so they answer SHUTDOWN_STATE instead of hanging.
func TestDaemon_handleSignal_signalsChanged(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		mood process.Mood
	}{
		{syscall.SIGTERM, process.MoodShutdown},
		{syscall.SIGINT, process.MoodShutdown},
		{syscall.SIGQUIT, process.MoodShutdown},
		{syscall.SIGHUP, process.MoodRestarting},
	} {
		t.Run(process.SignalName(int(tc.sig)), func(t *testing.T) {
			d := newTestDaemon(t)
			changed := d.Changed()
			d.handleSignal(tc.sig)
			if d.mood != tc.mood {
				t.Fatalf("mood = %v, want %v", d.mood, tc.mood)
			}
			select {
			case <-changed:
			default:
				t.Fatalf("%s changed the mood without signalling Changed", process.SignalName(int(tc.sig)))
			}
		})
	}
}

// An API start goes through the daemon, which tracks the pid: the exit of
// a child that dies at once reaches its process.
func TestDaemon_StartProcess_tracksTheChild(t *testing.T) {
	d := newTestDaemon(t)
	pc := &config.Process{Name: "quick", Group: "quick", Command: `/bin/sh -c "exit 3"`,
		Umask: -1, UID: -1, ExitCodes: []int{0}, StartRetries: 3, StopSignal: int(syscall.SIGTERM)}
	p := process.New(pc, d.rt)
	d.StartProcess(p) // may reap the child at once, if it was that quick
	deadline := time.Now().Add(20 * time.Second)
	for p.State() == process.Running || p.State() == process.Starting {
		if time.Now().After(deadline) {
			t.Fatalf("the exit never reached the process: %s", p.State())
		}
		time.Sleep(10 * time.Millisecond)
		d.reap()
	}
	if p.State() != process.Exited || p.ExitStatus() != 3 || len(d.pids) != 0 {
		t.Fatalf("state %s, exit status %d, %d pids tracked; want EXITED, 3, none", p.State(), p.ExitStatus(), len(d.pids))
	}
}

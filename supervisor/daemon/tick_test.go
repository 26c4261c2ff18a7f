package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/events"
)

type nopLog struct{}

func (nopLog) Warn(string, ...any)  {}
func (nopLog) Error(string, ...any) {}
func (nopLog) Debug(string, ...any) {}

func TestDaemon_tickEventsOnlyWhenSubscribed(t *testing.T) {
	d := &Daemon{ticks: map[int64]int64{}}
	start := time.Unix(1_000_000_002, 0) // 2 s into a 5 s period
	if next := d.tick(start); !next.IsZero() {
		t.Fatalf("a tick is scheduled with no subscriber: %v", next)
	}
	pool := events.NewPool("p", "supervisor", 100, []string{"TICK_5"}, nopLog{})
	d.bus.Add(pool)
	next := d.tick(start)
	if want := time.Unix(1_000_000_005, 0); !next.Equal(want) {
		t.Fatalf("next tick %v, want %v", next, want)
	}
	if pool.Buffered() != 0 {
		t.Fatal("a tick at start-up (supervisor records the first period silently)")
	}
	d.tick(time.Unix(1_000_000_004, 0))
	if pool.Buffered() != 0 {
		t.Fatal("a tick within the same period")
	}
	d.tick(time.Unix(1_000_000_005, 0))
	d.tick(time.Unix(1_000_000_011, 0))
	if pool.Buffered() != 2 {
		t.Fatalf("%d ticks after two periods, want 2", pool.Buffered())
	}
	l := &recorder{}
	pool.SetListeners([]events.Listener{l})
	pool.Output("r", []byte("READY\n"))
	pool.Dispatch()
	want := "eventname:TICK_5 len:15\nwhen:1000000005"
	if len(l.sent) != 1 || !strings.HasSuffix(l.sent[0], want) {
		t.Errorf("sent %q, want one ending %q", l.sent, want)
	}
}

type recorder struct{ sent []string }

func (r *recorder) Name() string              { return "r" }
func (r *recorder) Running() bool             { return true }
func (r *recorder) WriteStdin(b []byte) error { r.sent = append(r.sent, string(b)); return nil }

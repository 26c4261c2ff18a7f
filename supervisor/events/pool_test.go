package events

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

type fakeListener struct {
	name    string
	running bool
	sent    []string
	fail    error
}

func (f *fakeListener) Name() string  { return f.name }
func (f *fakeListener) Running() bool { return f.running }
func (f *fakeListener) WriteStdin(b []byte) error {
	if f.fail != nil {
		return f.fail
	}
	f.sent = append(f.sent, string(b))
	return nil
}

type logRec struct{ lines []string }

func (l *logRec) Warn(f string, a ...any)  { l.lines = append(l.lines, "WARN "+fmt.Sprintf(f, a...)) }
func (l *logRec) Error(f string, a ...any) { l.lines = append(l.lines, "ERRO "+fmt.Sprintf(f, a...)) }
func (l *logRec) Debug(f string, a ...any) {}

func newTestPool(size int, subs ...string) (*Bus, *Pool, *fakeListener, *logRec) {
	log := &logRec{}
	p := NewPool("pool", "supervisor", size, subs, log)
	l := &fakeListener{name: "l", running: true}
	p.SetListeners([]Listener{l})
	b := &Bus{}
	b.Add(p)
	return b, p, l, log
}

func TestPool_protocol(t *testing.T) {
	b, p, l, _ := newTestPool(10, "PROCESS_STATE")
	b.Publish(ProcessState("RUNNING", "x", "x", "STARTING", "pid", "12"))
	b.Publish(Remote("ignored", "not subscribed"))
	p.Dispatch()
	if len(l.sent) != 0 {
		t.Fatal("sent before READY")
	}
	p.Output("l", []byte("REA"))
	p.Output("l", []byte("DY\n"))
	p.Dispatch()
	want := "ver:3.0 server:supervisor serial:0 pool:pool poolserial:0 eventname:PROCESS_STATE_RUNNING len:52\nprocessname:x groupname:x from_state:STARTING pid:12"
	if len(l.sent) != 1 || l.sent[0] != want {
		t.Fatalf("sent %q\nwant %q", l.sent, want)
	}
	if p.State("l") != Busy {
		t.Fatalf("state %v", p.State("l"))
	}
	// A RESULT in pieces, then READY for the next.
	p.Output("l", []byte("RESULT 2\nO"))
	p.Output("l", []byte("KREADY\n"))
	if p.State("l") != Ready {
		t.Fatalf("state %v", p.State("l"))
	}
}

func TestPool_rejectedEventIsSentAgain(t *testing.T) {
	b, p, l, log := newTestPool(10, "EVENT")
	p.Output("l", []byte("READY\n"))
	b.Publish(Remote("t", "d"))
	p.Dispatch()
	p.Output("l", []byte("RESULT 4\nFAILREADY\n"))
	p.Dispatch()
	if len(l.sent) != 2 || l.sent[0] != l.sent[1] {
		t.Fatalf("sent %q", l.sent)
	}
	if !strings.Contains(strings.Join(log.lines, "\n"), "WARN l: event was rejected") {
		t.Errorf("log %v", log.lines)
	}
}

func TestPool_garbageMakesListenerUnknown(t *testing.T) {
	b, p, l, log := newTestPool(10, "EVENT")
	p.Output("l", []byte("hello there\n"))
	if p.State("l") != Unknown {
		t.Fatalf("state %v", p.State("l"))
	}
	b.Publish(Remote("t", "d"))
	p.Dispatch()
	if len(l.sent) != 0 || p.Buffered() != 1 {
		t.Fatalf("sent %q, buffered %d", l.sent, p.Buffered())
	}
	if !strings.Contains(strings.Join(log.lines, "\n"), "l: has entered the UNKNOWN state") {
		t.Errorf("log %v", log.lines)
	}
	// A bad RESULT line too; the event it held is kept.
	_, p2, l2, log2 := newTestPool(10, "EVENT")
	p2.Output("l", []byte("READY\n"))
	b2 := &Bus{}
	b2.Add(p2)
	b2.Publish(Remote("t", "d"))
	p2.Dispatch()
	p2.Output("l", []byte("RESULT x\n"))
	if p2.State("l") != Unknown || p2.Buffered() != 1 || len(l2.sent) != 1 {
		t.Fatalf("state %v buffered %d", p2.State("l"), p2.Buffered())
	}
	if !strings.Contains(strings.Join(log2.lines, "\n"), "WARN l: bad result line: 'RESULT x'") {
		t.Errorf("log %v", log2.lines)
	}
}

func TestPool_bufferDropsOldest(t *testing.T) {
	b, p, _, log := newTestPool(3, "EVENT")
	for i := 0; i < 5; i++ {
		b.Publish(Remote("n", fmt.Sprint(i)))
	}
	if p.Buffered() != 3 || !strings.HasSuffix(p.buffer[0].Payload, "\n2") {
		t.Fatalf("buffered %d, first %q", p.Buffered(), p.buffer[0].Payload)
	}
	if got := strings.Count(strings.Join(log.lines, "\n"), "ERRO pool pool event buffer overflowed, discarding event"); got != 2 {
		t.Errorf("%d overflow lines: %v", got, log.lines)
	}
}

func TestPool_listenerDeathRequeues(t *testing.T) {
	b, p, l, _ := newTestPool(10, "EVENT")
	p.Output("l", []byte("READY\n"))
	b.Publish(Remote("t", "d"))
	p.Dispatch()
	p.Exited("l")
	p.Started("l")
	if p.Buffered() != 1 {
		t.Fatalf("buffered %d", p.Buffered())
	}
	p.Output("l", []byte("READY\n"))
	p.Dispatch()
	if len(l.sent) != 2 || l.sent[0] != l.sent[1] {
		t.Fatalf("sent %q", l.sent)
	}
	// EPIPE keeps the event for later.
	_, p3, l3, _ := newTestPool(10, "EVENT")
	l3.fail = syscall.EPIPE
	p3.Output("l", []byte("READY\n"))
	b3 := &Bus{}
	b3.Add(p3)
	b3.Publish(Remote("t", "d"))
	p3.Dispatch()
	if p3.Buffered() != 1 || p3.State("l") != Ready {
		t.Fatalf("after EPIPE: buffered %d state %v", p3.Buffered(), p3.State("l"))
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		sub, typ string
		want     bool
	}{
		{"EVENT", "TICK_5", true}, {"PROCESS_STATE", "PROCESS_STATE_EXITED", true},
		{"PROCESS_STATE", "PROCESS_LOG_STDOUT", false}, {"TICK", "TICK_3600", true},
		{"TICK_5", "TICK_60", false}, {"REMOTE_COMMUNICATION", "REMOTE_COMMUNICATION", true},
		{"PROCESS_COMMUNICATION", "PROCESS_COMMUNICATION_STDERR", true},
	} {
		if got := Matches(c.sub, c.typ); got != c.want {
			t.Errorf("Matches(%s, %s) = %v", c.sub, c.typ, got)
		}
	}
}

func FuzzPoolOutput(f *testing.F) {
	f.Add([]byte("READY\nRESULT 2\nOK"))
	f.Add([]byte("RESULT 99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, p, _, _ := newTestPool(2, "EVENT")
		p.Output("l", []byte("READY\n"))
		b.Publish(Remote("t", "d"))
		p.Dispatch()
		for len(data) > 0 {
			n := min(len(data), 3)
			p.Output("l", data[:n])
			data = data[n:]
			p.Dispatch()
		}
		if p.Buffered() > 2 {
			t.Fatalf("buffer over its size: %d", p.Buffered())
		}
	})
}

package daemon

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/gpudesk/runtime/supervisor/process"
	"github.com/gpudesk/runtime/supervisor/ready"
)

// probeEntry is one process's checks. The scheduler owns it while it
// waits in the heap; the attempt goroutine owns it while it runs (the
// fields below ctx), and gives it back with add.
type probeEntry struct {
	p        *process.Process
	pid      int
	check    ready.Check
	opts     ready.Options
	interval time.Duration
	attempt  time.Duration

	ctx       context.Context
	cancelCtx context.CancelFunc

	gap            time.Duration // the next gap until the first pass
	passed, lastOK bool

	// Under scheduler.mu: when it is due, its place in the heap (-1:
	// not in it), and whether it was cancelled.
	due       time.Time
	index     int
	cancelled bool
}

// probeCoalesce is how early a check may run to share a wake-up with one
// due before it: a thousand checks at 10 s intervals wake the scheduler at
// most 1/probeCoalesce times a second.
const probeCoalesce = 100 * time.Millisecond

// scheduler starts each entry's attempt when it is due.
type scheduler struct {
	ctx   context.Context
	start func(*probeEntry)
	mu    sync.Mutex
	queue entryHeap
	wake  chan struct{}
}

func newScheduler(ctx context.Context, start func(*probeEntry)) *scheduler {
	return &scheduler{ctx: ctx, start: start, wake: make(chan struct{}, 1)}
}

// add schedules e's next attempt at due (unless e was cancelled).
func (s *scheduler) add(e *probeEntry, due time.Time) {
	s.mu.Lock()
	if e.cancelled {
		s.mu.Unlock()
		return
	}
	e.due = due
	heap.Push(&s.queue, e)
	first := s.queue[0] == e
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// cancel ends e's checks: no further attempt starts, and a running one
// sees its context end.
func (s *scheduler) cancel(e *probeEntry) {
	s.mu.Lock()
	e.cancelled = true
	if e.index >= 0 && e.index < len(s.queue) && s.queue[e.index] == e {
		heap.Remove(&s.queue, e.index)
	}
	s.mu.Unlock()
	e.cancelCtx()
}

// run starts the due attempts until ctx ends.
func (s *scheduler) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		wait := time.Hour
		if len(s.queue) > 0 {
			wait = max(time.Until(s.queue[0].due), 0)
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		s.mu.Lock()
		horizon := time.Now().Add(probeCoalesce)
		var due []*probeEntry
		for len(s.queue) > 0 && !s.queue[0].due.After(horizon) {
			due = append(due, heap.Pop(&s.queue).(*probeEntry))
		}
		s.mu.Unlock()
		for _, e := range due {
			s.start(e)
		}
	}
}

// entryHeap orders entries by due time.
type entryHeap []*probeEntry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*probeEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

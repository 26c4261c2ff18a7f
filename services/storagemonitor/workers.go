package storagemonitor

import (
	"hash/fnv"
	"runtime"
	"sync"
)

// Links are made by a few worker goroutines, one queue each, so that a
// burst of new files is linked into several targets at once: making a
// symlink is a system call that takes tens of microseconds on a busy
// container file system, and a file usually has several targets.
//
// Every link to one target path goes through the same queue (chosen by a
// hash of the path), in the order the events came, and the monitor's
// goroutine drains the queues (drain) before anything else reads or
// removes links: removals, re-scans, the start-up clean-up. Mappings
// whose targets overlap share queue 0, since they decide together which
// storage file wins a path.

type linkJob struct {
	r      *route
	t, src string
}

type workers struct {
	queues  []chan linkJob
	pending sync.WaitGroup // jobs queued and not done
	running sync.WaitGroup // worker goroutines
}

// workerCount is how many link queues a monitor uses.
func workerCount() int {
	return min(16, max(4, 4*runtime.GOMAXPROCS(0)))
}

func (m *Monitor) startWorkers() {
	if m.opts.DryRun || m.work != nil {
		return
	}
	w := &workers{}
	for range workerCount() {
		q := make(chan linkJob, 1024)
		w.queues = append(w.queues, q)
		w.running.Add(1)
		go func() {
			defer w.running.Done()
			for j := range q {
				m.link(j.r, j.t, j.src)
				w.pending.Done()
			}
		}()
	}
	m.work = w
}

func (m *Monitor) stopWorkers() {
	if m.work == nil {
		return
	}
	m.drain()
	for _, q := range m.work.queues {
		close(q)
	}
	m.work.running.Wait()
	m.work = nil
}

// dispatch has the link t -> src made, by the route's worker or at once.
func (m *Monitor) dispatch(r *route, t, src string) {
	if m.work == nil {
		m.link(r, t, src)
		return
	}
	m.work.pending.Add(1)
	q := 0
	if !r.overlap {
		h := fnv.New32a()
		h.Write([]byte(t))
		q = 1 + int(h.Sum32()%uint32(len(m.work.queues)-1))
	}
	m.work.queues[q] <- linkJob{r, t, src}
}

// drain waits until every dispatched link is made.
func (m *Monitor) drain() {
	if m.work != nil {
		m.work.pending.Wait()
	}
}

package process

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// MaxStdinQueue is how many bytes written to a process's stdin
// (sendProcessStdin, event listener envelopes) may wait for the process to
// read them. Past it a write fails with ErrStdinFull, so a child that never
// reads its stdin costs at most this much memory. One write into an empty
// queue is taken whatever its size (the API's request cap bounds it), so a
// large message to a child that reads is never refused.
const MaxStdinQueue = 1 << 20

// ErrStdinFull is a write refused because the process has not read what
// was written before. Python supervisor buffers without a bound.
var ErrStdinFull = errors.New("stdin queue is full")

// stdinQueue holds what is written to a child's stdin until the pipe takes
// it. Writers (the event loop) never block: a goroutine writes the queue
// out as the child reads, and waits in the poller meanwhile. It starts at
// the first write (most children are never written to) and counts in wg,
// which the capture waits for.
//
// The pipe is a bare descriptor until then: wrapping it in an *os.File
// registers it with Go's poller (a system call and an allocation), which
// at a thousand spawns is worth doing only for the few written to.
type stdinQueue struct {
	name string
	fd   int      // our end of the child's stdin
	f    *os.File // fd, made non-blocking and polled, from the first write
	wg   *sync.WaitGroup
	wake chan struct{} // a write is queued (one pending wake at most)
	done chan struct{} // closed by close
	once sync.Once

	mu      sync.Mutex
	buf     []byte // queued, not yet handed to the pipe
	pending int    // bytes not yet written: buf and the piece being written
	running bool   // run has been started
	err     error  // why writing stopped (EPIPE: the child closed its stdin)
}

func newStdinQueue(name string, fd int, wg *sync.WaitGroup) *stdinQueue {
	return &stdinQueue{name: name, fd: fd, wg: wg, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// write queues b, or says why it cannot: the child closed its stdin
// (an error wrapping EPIPE) or has not read what came before.
func (q *stdinQueue) write(b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if q.pending > 0 && q.pending+len(b) > MaxStdinQueue {
		return fmt.Errorf("%w: process '%s' has not read %d bytes written to its stdin before (at most %d may wait)",
			ErrStdinFull, q.name, q.pending, MaxStdinQueue)
	}
	if !q.running {
		// Only the write end is made non-blocking: the child's end of the
		// pipe is a file description of its own.
		if err := syscall.SetNonblock(q.fd, true); err != nil {
			return fmt.Errorf("writing to the stdin of '%s': %w", q.name, os.NewSyscallError("fcntl", err))
		}
		q.f = os.NewFile(uintptr(q.fd), "|0")
		q.running = true
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.run()
		}()
	}
	q.buf = append(q.buf, b...)
	q.pending += len(b)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// run writes the queue to the pipe until the pipe breaks or close is
// called; close also ends a write the child does not read.
func (q *stdinQueue) run() {
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			chunk := q.buf
			q.buf = nil
			q.mu.Unlock()
			if len(chunk) == 0 {
				break
			}
			_, err := q.f.Write(chunk)
			q.mu.Lock()
			q.pending -= len(chunk)
			if err != nil {
				q.err = fmt.Errorf("writing to the stdin of '%s': %w", q.name, err)
				q.buf, q.pending = nil, 0
			}
			q.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// close drops what is queued and closes the pipe; run returns.
func (q *stdinQueue) close() { q.once.Do(q.closeOnce) }

func (q *stdinQueue) closeOnce() {
	q.mu.Lock()
	if q.err == nil {
		q.err = fmt.Errorf("process '%s' is not running", q.name)
	}
	q.buf, q.pending = nil, 0
	f := q.f
	q.mu.Unlock()
	close(q.done)
	if f != nil {
		f.Close()
	} else {
		syscall.Close(q.fd)
	}
}

package process

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Capture pipes are kept out of Go's network poller. The runtime registers
// every pollable descriptor edge-triggered for as long as it is open, so a
// child writing one line per write(2) woke a daemon thread blocked in
// epoll_wait at each write, even while its reader slept between large
// reads: profiled, those wake-ups (context switches and scheduler passes)
// were most of the daemon's CPU per MB, the copying a few per cent. Here
// one goroutine waits for all capture pipes on its own epoll instance with
// EPOLLONESHOT: a pipe is armed only while its reader waits for it, and a
// child's writes meanwhile wake nobody.

// outPipe is the daemon's (read) end of a capture pipe: a non-blocking
// descriptor read by its capture goroutine.
type outPipe struct {
	fd      int
	stop    chan struct{} // closed by closeLater: drain, then stop
	stopped atomic.Bool
	drainBy atomic.Int64 // unix nanoseconds; reading stops then
	once    sync.Once
}

// newOutPipe returns a capture pipe: the daemon's end, non-blocking and
// close-on-exec, and the child's end, blocking as a child expects.
func newOutPipe() (*outPipe, int, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, -1, os.NewSyscallError("pipe2", err)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, -1, os.NewSyscallError("fcntl", err)
	}
	// A larger pipe lets a chatty child run while we read it in large
	// pieces; failure (an old kernel, a lower limit) only costs speed. The
	// kernel allocates the pages only as they fill.
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), 1031 /* F_SETPIPE_SZ */, pipeSize)
	return &outPipe{fd: fds[0], stop: make(chan struct{})}, fds[1], nil
}

// closeLater makes the reader stop once the pipe is drained, or at by,
// whichever comes first. Safe from any goroutine, more than once.
func (o *outPipe) closeLater(by time.Time) {
	o.once.Do(func() {
		o.drainBy.Store(by.UnixNano())
		o.stopped.Store(true)
		close(o.stop)
	})
}

// expired reports whether reading must stop now.
func (o *outPipe) expired() bool {
	return o.stopped.Load() && time.Now().UnixNano() >= o.drainBy.Load()
}

// read reads what the pipe holds into buf (never empty): n > 0, or
// (0, EAGAIN) when the pipe is empty, or (0, nil) at EOF. The descriptor is non-blocking, so the
// call returns as soon as the kernel has copied what is there (at most
// len(buf) bytes, tens of microseconds): it is made as a raw system call,
// which Go's scheduler does not track. A tracked call (syscall.Read) wakes
// the runtime's monitor thread whenever it has gone to sleep with every
// goroutine idle, and it then polls every 20 µs for a millisecond or more:
// profiled with 4,000-byte writes, that was 12% of the daemon's CPU per
// MB, and untracked reads took away about half of it (6.6% left). Writes
// to the log file stay tracked calls although raw ones took most of the
// rest: a file write can block (dirty-page throttling while a download
// fills the page cache, a network or FUSE file system) and the scheduler
// must then hand the thread's P to the daemon's other goroutines, and the
// garbage collector must not wait for it.
func (o *outPipe) read(buf []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(o.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// close closes the descriptor; only its reader calls it, once done.
func (o *outPipe) close() {
	pipePoll.forget(o.fd)
	syscall.Close(o.fd)
}

// waitReadable waits until the pipe is readable (data, or the writer gone)
// and reports true, or false when reading must stop (closeLater's time has
// come, or the poller cannot be used).
func (o *outPipe) waitReadable() bool {
	ready, err := pipePoll.arm(o.fd)
	if err != nil {
		return false
	}
	select {
	case <-ready:
		return true
	case <-o.stop:
	}
	wait := time.Until(time.Unix(0, o.drainBy.Load()))
	if wait <= 0 {
		pipePoll.forget(o.fd)
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ready:
		return true
	case <-t.C:
		pipePoll.forget(o.fd)
		return false
	}
}

// pipePoller waits for the capture pipes that their readers armed.
type pipePoller struct {
	once    sync.Once
	started atomic.Bool
	epfd    int
	err     error
	mu      sync.Mutex
	added   map[int]bool          // fds in the epoll set
	ready   map[int]chan struct{} // armed fds and whom to tell
}

var pipePoll pipePoller

func (pp *pipePoller) start() error {
	pp.once.Do(func() {
		pp.epfd, pp.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if pp.err != nil {
			pp.err = fmt.Errorf("capture poller: %w", os.NewSyscallError("epoll_create1", pp.err))
			return
		}
		pp.added = map[int]bool{}
		pp.ready = map[int]chan struct{}{}
		pp.started.Store(true)
		// One goroutine for the life of the daemon: it holds a thread only
		// while blocked in epoll_wait.
		go pp.run()
	})
	return pp.err
}

// arm asks to be told once fd is readable: the returned channel is closed
// then.
func (pp *pipePoller) arm(fd int) (<-chan struct{}, error) {
	if err := pp.start(); err != nil {
		return nil, err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	ch := make(chan struct{})
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	op := syscall.EPOLL_CTL_MOD
	if !pp.added[fd] {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := syscall.EpollCtl(pp.epfd, op, fd, &ev); err != nil {
		return nil, fmt.Errorf("capture poller: %w", os.NewSyscallError("epoll_ctl", err))
	}
	pp.added[fd] = true
	pp.ready[fd] = ch
	return ch, nil
}

// forget takes fd out of the set, before it is closed (or when its reader
// stops waiting), so that a later descriptor with its number starts clean.
func (pp *pipePoller) forget(fd int) {
	if !pp.started.Load() {
		return // never armed anything
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.added[fd] {
		syscall.EpollCtl(pp.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		delete(pp.added, fd)
	}
	delete(pp.ready, fd)
}

func (pp *pipePoller) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(pp.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// Cannot happen with a valid epfd; readers would hang, so
			// wake them all: they read, find nothing or EOF, and arm again.
			pp.mu.Lock()
			for fd, ch := range pp.ready {
				close(ch)
				delete(pp.ready, fd)
			}
			pp.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		pp.mu.Lock()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if ch, ok := pp.ready[fd]; ok {
				close(ch)
				delete(pp.ready, fd)
			}
		}
		pp.mu.Unlock()
	}
}

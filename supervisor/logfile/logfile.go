// Package logfile writes the capture files of supervised processes and the
// daemon's own log: size-based rotation with numbered backups, as Python
// supervisor's RotatingFileHandler does, except that a rotation never splits
// a line between two files. It also reads logs by offset and tails them for
// the XML-RPC API.
package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/umask"
)

// Writer is an append-only log file. Safe for concurrent use.
//
// A fault (a full disk, EIO, its folder deleted or made read-only) never
// turns it off for good: the bytes it cannot write are counted as lost, the
// file is cut back to its last whole line so that no line is ever torn,
// and writing is tried again until it works (at the next Write for a file
// still open, at most every retryEvery when the file must be opened or
// rotated again, and at once on Reopen). The notify function hears of a
// fault when it starts and of the loss when writing works again, at most
// about once per noticeEvery.
type Writer struct {
	mu       sync.Mutex
	path     string
	maxBytes int64 // 0: never rotate
	backups  int
	f        *os.File // nil while closed, or while a fault keeps it shut
	size     int64
	lineEnd  int64 // size just after the last newline written: a cut there leaves whole lines
	special  bool  // a device, FIFO or socket (/dev/stdout): no rotation
	closed   bool
	fault    fault
	notify   func(Notice)
	notices  []Notice // sent once the lock is released
}

// Open opens (creating if needed) the log file at path for appending.
// maxBytes 0 disables rotation; backups is how many rotated files
// (path.1 … path.N) to keep.
func Open(path string, maxBytes int64, backups int) (*Writer, error) {
	w := &Writer{path: path, maxBytes: maxBytes, backups: backups}
	if err := w.open(false); err != nil {
		return nil, err
	}
	return w, nil
}

// SetNotify sets the function told about faults and recoveries. It is
// called from whichever goroutine wrote, without the Writer's lock held.
func (w *Writer) SetNotify(fn func(Notice)) {
	w.mu.Lock()
	w.notify = fn
	w.mu.Unlock()
}

// open opens the file, emptied when trunc is set. The file is created
// under the daemon's umask, never a child's (see package umask).
func (w *Writer) open(trunc bool) error {
	flags := os.O_WRONLY | os.O_APPEND | os.O_CREATE
	if trunc {
		flags |= os.O_TRUNC
	}
	var f *os.File
	var err error
	umask.Create(func() { f, err = os.OpenFile(w.path, flags, 0o644) })
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log: %w", err)
	}
	w.f, w.size, w.closed = f, st.Size(), false
	w.special = !st.Mode().IsRegular()
	if w.special {
		w.size = 0
	}
	w.lineEnd = w.size
	return nil
}

// Path returns the file's path.
func (w *Writer) Path() string { return w.path }

// Write appends p. When the file reaches maxBytes it is rotated at the end
// of the line that reaches the limit, so every line lands whole in one
// file. Output without newlines is cut anyway at twice maxBytes. Write
// always consumes all of p: an error says that some of it was lost (and
// counted, see Lost) because of a fault.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	err := w.write(p)
	notices, notify := w.notices, w.notify
	w.notices = nil
	w.mu.Unlock()
	if notify != nil {
		for _, n := range notices {
			notify(n)
		}
	}
	if err != nil {
		return len(p), err
	}
	return len(p), nil
}

func (w *Writer) write(p []byte) error {
	if w.closed {
		return os.ErrClosed
	}
	if w.fault.skip {
		if p = w.skipLine(p); len(p) == 0 {
			return w.fault.err
		}
	}
	if w.f == nil && !w.retry() {
		w.lose(p, w.fault.err)
		return w.fault.err
	}
	if w.fault.torn {
		// A cut line could not be taken back: end it, so that the next
		// line starts on its own.
		if _, err := w.f.Write([]byte{'\n'}); err != nil {
			w.lose(p, fmt.Errorf("writing log: %w", err))
			return w.fault.err
		}
		w.size++
		w.lineEnd = w.size
		w.fault.torn = false
	}
	for len(p) > 0 {
		chunk := p
		if w.rotates() {
			room := max(w.maxBytes-w.size, 1)
			if int64(len(p)) >= room {
				if i := bytes.IndexByte(p[room-1:], '\n'); i >= 0 {
					chunk = p[:room+int64(i)]
				}
			}
		}
		before := w.size
		n, err := w.f.Write(chunk)
		w.size += int64(n)
		if i := bytes.LastIndexByte(chunk[:n], '\n'); i >= 0 {
			w.lineEnd = before + int64(i) + 1
		}
		if err != nil {
			w.cutTornLine()
			w.lose(p[n:], fmt.Errorf("writing log: %w", err))
			return w.fault.err
		}
		w.healthy()
		p = p[n:]
		lineEnd := chunk[len(chunk)-1] == '\n'
		if w.rotates() && (w.size >= w.maxBytes && lineEnd || w.size >= 2*w.maxBytes) {
			if err := w.rotate(); err != nil {
				w.lose(p, err)
				return err
			}
		}
	}
	return nil
}

func (w *Writer) rotates() bool { return w.maxBytes > 0 && !w.special }

// rotate renames path.(N-1) → path.N … path → path.1 and starts a new file;
// with no backups the file is truncated. When it fails the file stays
// shut and the rotation is tried again later (retry).
func (w *Writer) rotate() error {
	if w.f != nil {
		// A close error (EIO) must not stop the rotation that may cure it.
		w.f.Close()
		w.f = nil
	}
	w.fault.rotate = true
	if w.backups > 0 {
		for i := w.backups - 1; i >= 1; i-- {
			src := fmt.Sprintf("%s.%d", w.path, i)
			if _, err := os.Lstat(src); err == nil {
				if err := os.Rename(src, fmt.Sprintf("%s.%d", w.path, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("rotating log: %w", err)
				}
			}
		}
		if err := os.Rename(w.path, w.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating log: %w", err)
		}
		// The backups have moved: what is left to do is open a new file.
		w.fault.rotate = false
	}
	if err := w.open(w.backups == 0); err != nil {
		return fmt.Errorf("rotating log: %w", err)
	}
	w.fault.rotate = false
	return nil
}

// Reopen closes and reopens the file (after an outside rotation, SIGUSR2),
// which also ends a fault at once when the cause is gone. When the file
// cannot be opened the Writer stays usable and keeps trying. A Writer
// that was closed stays closed (os.ErrClosed).
func (w *Writer) Reopen() error {
	w.mu.Lock()
	err := w.reopen()
	notices, notify := w.notices, w.notify
	w.notices = nil
	w.mu.Unlock()
	if notify != nil {
		for _, n := range notices {
			notify(n)
		}
	}
	return err
}

func (w *Writer) reopen() error {
	if w.closed {
		return os.ErrClosed
	}
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.fault.retryAt = time.Time{}
	if w.fault.rotate {
		if err := w.rotate(); err != nil {
			w.failed(err)
			return err
		}
	} else if err := w.open(false); err != nil {
		w.failed(err)
		return err
	}
	w.fault.torn = false
	w.healthy()
	return nil
}

// Clear truncates the log (supervisor's clearLog), keeping the backups.
func (w *Writer) Clear() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.special || w.f == nil {
		return nil
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("clearing log: %w", err)
	}
	w.size, w.lineEnd = 0, 0
	return nil
}

// Close closes the file. Output lost and not yet reported is reported.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	var err error
	if w.f != nil {
		err = w.f.Close()
		w.f = nil
	}
	if w.fault.lost > 0 {
		w.notices = append(w.notices, Notice{Path: w.path, Err: w.fault.err, Lost: w.fault.lost, Closed: true})
		w.fault.lost = 0
	}
	notices, notify := w.notices, w.notify
	w.notices = nil
	w.mu.Unlock()
	if notify != nil {
		for _, n := range notices {
			notify(n)
		}
	}
	return err
}

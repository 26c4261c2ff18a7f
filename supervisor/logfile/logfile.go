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
)

// Writer is an append-only log file. Safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	path     string
	maxBytes int64 // 0: never rotate
	backups  int
	f        *os.File
	size     int64
	special  bool // a device, FIFO or socket (/dev/stdout): no rotation
	closed   bool
}

// Open opens (creating if needed) the log file at path for appending.
// maxBytes 0 disables rotation; backups is how many rotated files
// (path.1 … path.N) to keep.
func Open(path string, maxBytes int64, backups int) (*Writer, error) {
	w := &Writer{path: path, maxBytes: maxBytes, backups: backups}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening log %s: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log %s: %w", w.path, err)
	}
	w.f, w.size, w.closed = f, st.Size(), false
	w.special = !st.Mode().IsRegular()
	if w.special {
		w.size = 0
	}
	return nil
}

// Path returns the file's path.
func (w *Writer) Path() string { return w.path }

// Write appends p. When the file reaches maxBytes it is rotated at the end
// of the line that reaches the limit, so every line lands whole in one
// file. Output without newlines is cut anyway at twice maxBytes.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, os.ErrClosed
	}
	written := 0
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
		n, err := w.f.Write(chunk)
		written += n
		w.size += int64(n)
		if err != nil {
			return written, fmt.Errorf("writing log %s: %w", w.path, err)
		}
		p = p[n:]
		lineEnd := chunk[len(chunk)-1] == '\n'
		if w.rotates() && (w.size >= w.maxBytes && lineEnd || w.size >= 2*w.maxBytes) {
			if err := w.rotate(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *Writer) rotates() bool { return w.maxBytes > 0 && !w.special }

// rotate renames path.(N-1) → path.N … path → path.1 and starts a new file;
// with no backups the file is truncated.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotating log %s: %w", w.path, err)
	}
	if w.backups > 0 {
		for i := w.backups - 1; i >= 1; i-- {
			src := fmt.Sprintf("%s.%d", w.path, i)
			if _, err := os.Lstat(src); err == nil {
				if err := os.Rename(src, fmt.Sprintf("%s.%d", w.path, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("rotating log %s: %w", w.path, err)
				}
			}
		}
		if err := os.Rename(w.path, w.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating log %s: %w", w.path, err)
		}
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		w.closed = true
		return fmt.Errorf("rotating log %s: %w", w.path, err)
	}
	w.f, w.size = f, 0
	return nil
}

// Reopen closes and reopens the file (after an outside rotation, SIGUSR2).
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.f.Close()
	}
	return w.open()
}

// Clear truncates the log (supervisor's clearLog), keeping the backups.
func (w *Writer) Clear() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.special {
		return nil
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("clearing log %s: %w", w.path, err)
	}
	w.size = 0
	return nil
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.f.Close()
}

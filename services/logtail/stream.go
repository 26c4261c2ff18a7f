package logtail

import (
	"fmt"
	"io"

	"github.com/gpudesk/runtime/services/logtail/follow"
)

// flushAt is how much output is buffered before it is written even while
// the follower is still busy.
const flushAt = 128 << 10

// output is one destination of the stream; a failing one is reported
// once until it works again, and never stops the others.
type output struct {
	name   string
	w      io.Writer
	failed bool
}

// stream turns follower events into the printed stream: a header line
// whenever the source changes, redacted lines, a note on truncation.
type stream struct {
	red     *Redactor
	outs    []*output
	stderr  io.Writer
	headers bool

	buf      []byte // output lines, not yet redacted
	redacted []byte
	last     string // the file of the last header
}

func newStream(red *Redactor, stderr io.Writer, headers bool, outs ...*output) *stream {
	return &stream{red: red, outs: outs, stderr: stderr, headers: headers, buf: make([]byte, 0, 2*flushAt)}
}

// header starts a block of lines from path, as tail does: a blank line
// between blocks, then `==> path <==` (with a note, if any).
func (s *stream) header(path, note string) {
	if !s.headers || (path == s.last && note == "") {
		return
	}
	if s.last != "" {
		s.buf = append(s.buf, '\n')
	}
	s.buf = append(s.buf, "==> "...)
	s.buf = append(s.buf, path...)
	if note != "" {
		s.buf = append(s.buf, " ("+note+")"...)
	}
	s.buf = append(s.buf, " <==\n"...)
	s.last = path
}

func (s *stream) handle(e follow.Event) {
	switch e.Kind {
	case follow.Line, follow.Partial:
		// Redaction happens on the whole buffer when it is written:
		// secrets hold no newline, so that is the same as line by line,
		// and much cheaper. A Partial piece never ends inside a possible
		// secret (the follower keeps back what Redactor.Hold says).
		s.header(e.Path, "")
		s.buf = append(s.buf, e.Text...)
		s.buf = append(s.buf, '\n')
	case follow.Cut:
		s.header(e.Path, "")
		s.buf = s.red.MaskHeld(s.buf, e.Text)
		s.buf = append(s.buf, '\n')
	case follow.Truncated:
		s.header(e.Path, "truncated")
	case follow.Error:
		fmt.Fprintf(s.stderr, "logtail: %v\n", e.Err)
	case follow.Idle:
		s.flush()
		return
	}
	if len(s.buf) >= flushAt {
		s.flush()
	}
}

// flush writes what is buffered to every output.
func (s *stream) flush() {
	if len(s.buf) == 0 {
		return
	}
	data := s.buf
	if s.red.Contains(data) {
		s.redacted = s.red.Append(s.redacted[:0], data)
		data = s.redacted
	}
	for _, o := range s.outs {
		_, err := o.w.Write(data)
		switch {
		case err != nil && !o.failed:
			o.failed = true
			fmt.Fprintf(s.stderr, "logtail: writing to %s: %v\n", o.name, err)
		case err == nil && o.failed:
			o.failed = false
			fmt.Fprintf(s.stderr, "logtail: writing to %s works again\n", o.name)
		}
	}
	s.buf = s.buf[:0]
}

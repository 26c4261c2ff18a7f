package process

import (
	"bytes"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/logfile"
)

// The tokens around a process-communication message.
var (
	beginToken = []byte("<!--XSUPERVISOR:BEGIN-->")
	endToken   = []byte("<!--XSUPERVISOR:END-->")
)

// stream is one output stream of a running process: it writes to the log
// and, as supervisor's output dispatcher does, feeds the event system
// (log events, capture mode between the XSUPERVISOR tokens, the event
// listener protocol). It runs on the stream's capture goroutine.
type stream struct {
	p        *Process
	pid      int
	channel  string
	log      *logfile.Writer
	emit     func(Output)
	events   bool   // *_events_enabled
	capMax   int64  // *_capture_maxbytes; 0: no capture mode
	listener bool   // stdout of an event listener
	capture  bool   // inside BEGIN … END
	capBuf   []byte // what was captured, bounded by capMax
	pending  []byte // a possible token prefix held back
}

func newStream(p *Process, pid int, channel string, l *logfile.Writer) *stream {
	o := p.Config.Stdout
	if channel == "stderr" {
		o = p.Config.Stderr
	}
	s := &stream{p: p, pid: pid, channel: channel, log: l, emit: p.rt.Output,
		events: o.EventsEnabled, capMax: o.CaptureMaxBytes}
	s.listener = channel == "stdout" && p.Config.Kind() == config.KindEventListener
	if s.listener {
		s.capMax = 0 // a listener's stdout speaks the protocol instead
	}
	return s
}

func (s *stream) send(kind string, data []byte) {
	if s.emit != nil {
		s.emit(Output{Process: s.p, PID: s.pid, Kind: kind, Channel: s.channel, Data: append([]byte(nil), data...)})
	}
}

func (s *stream) write(data []byte) {
	if s.listener {
		s.logged(data)
		s.send("listener", data)
		return
	}
	if s.capMax <= 0 {
		s.logged(data)
		return
	}
	s.pending = append(s.pending, data...)
	for len(s.pending) > 0 {
		token := beginToken
		if s.capture {
			token = endToken
		}
		if len(s.pending) <= len(token) && bytes.HasPrefix(token, s.pending) {
			return // maybe the start of a token
		}
		i := bytes.Index(s.pending, token)
		if i < 0 {
			keep := prefixAtEnd(s.pending, token)
			s.out(s.pending[:len(s.pending)-keep])
			s.pending = append([]byte(nil), s.pending[len(s.pending)-keep:]...)
			return
		}
		s.out(s.pending[:i])
		s.pending = s.pending[i+len(token):]
		s.toggle()
	}
}

// out writes to the log, or into the capture while capturing.
func (s *stream) out(data []byte) {
	if len(data) == 0 {
		return
	}
	if !s.capture {
		s.logged(data)
		return
	}
	s.capBuf = append(s.capBuf, data...)
	if over := int64(len(s.capBuf)) - s.capMax; over > 0 {
		s.capBuf = s.capBuf[over:]
	}
	// Captured text is not in the normal log but, as in supervisor, is
	// still a log event.
	if s.events {
		s.send("log", data)
	}
}

func (s *stream) toggle() {
	s.capture = !s.capture
	if !s.capture {
		s.send("comm", s.capBuf)
		s.capBuf = nil
	}
}

// logged writes data to the log and emits a log event when enabled.
func (s *stream) logged(data []byte) {
	if len(data) == 0 {
		return
	}
	if s.log != nil {
		if s.p.rt.StripANSI {
			s.log.Write(stripANSI(data))
		} else {
			s.log.Write(data)
		}
	}
	if s.events {
		s.send("log", data)
	}
}

// prefixAtEnd returns the length of the longest end of b that begins token.
func prefixAtEnd(b, token []byte) int {
	for n := min(len(token)-1, len(b)); n > 0; n-- {
		if bytes.HasSuffix(b, token[:n]) {
			return n
		}
	}
	return 0
}

// stripANSI removes ANSI escape sequences ("\x1b[" up to a terminating
// letter), as supervisor's strip_ansi does.
func stripANSI(b []byte) []byte {
	if !bytes.Contains(b, []byte("\x1b[")) {
		return b
	}
	var out []byte
	for i := 0; i < len(b); {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && bytes.IndexByte([]byte("HfABCDRsuJKhlpm"), b[j]) < 0 {
				j++
			}
			if j < len(b) {
				i = j + 1
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return out
}

package process

import (
	"bytes"
	"reflect"
	"unicode/utf8"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/internal/pystr"
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
	strip    bool   // [supervisord] strip_ansi, as it was at the spawn
	// mainlog is the daemon log when it takes every chunk of output (its
	// level is debug or lower), else nil. Decided once per spawn, as
	// Python's dispatchers do, so that at info a chunk costs no check and
	// no formatting.
	mainlog Logger
}

func newStream(p *Process, pid int, channel string, l *logfile.Writer) *stream {
	o := p.Config.Stdout
	if channel == "stderr" {
		o = p.Config.Stderr
	}
	s := &stream{p: p, pid: pid, channel: channel, log: l, emit: p.rt.Output,
		events: o.EventsEnabled, capMax: o.CaptureMaxBytes, strip: p.rt.StripANSI}
	if logsOutput(p.rt.Log) {
		s.mainlog = p.rt.Log
	}
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
		// Python logs what a listener writes as the bytes it read (its
		// repr, b'READY\n'), before the protocol looks at it.
		if s.mainlog != nil {
			s.mainlog.Log(config.LevelDebug, "%s %s output:\n%s", pystr.Repr(s.p.Config.Name), s.channel, pystr.BytesRepr(data))
		}
		s.logged(data, false)
		s.send("listener", data)
		return
	}
	if s.capMax <= 0 {
		s.logged(data, true)
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
		s.logged(data, true)
		return
	}
	if s.strip {
		data = stripANSI(data)
	}
	s.toMainLog(data) // captured text, too, is in the daemon's debug log
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

// logged writes data (without ANSI escapes under strip_ansi) to the log,
// to the daemon's debug log when main is set, and emits a log event when
// enabled.
func (s *stream) logged(data []byte, main bool) {
	if len(data) == 0 {
		return
	}
	if s.strip {
		data = stripANSI(data)
	}
	if s.log != nil {
		s.log.Write(data)
	}
	if main {
		s.toMainLog(data)
	}
	if s.events {
		s.send("log", data)
	}
}

// toMainLog logs a chunk of output at debug as Python does:
// "'name' stdout output:" and the text on the next line, or, when the
// chunk is not valid UTF-8, "Undecodable: " and the bytes' repr.
func (s *stream) toMainLog(data []byte) {
	if s.mainlog == nil || len(data) == 0 {
		return
	}
	var text string
	if utf8.Valid(data) {
		text = string(data)
	} else {
		text = "Undecodable: " + pystr.BytesRepr(data)
	}
	s.mainlog.Log(config.LevelDebug, "%s %s output:\n%s", pystr.Repr(s.p.Config.Name), s.channel, text)
}

// closed logs, at debug, that a stream's read end is closed, in Python's
// words: "fd 7 closed, stopped monitoring <POutputDispatcher at … for
// <Subprocess at … with name x in state RUNNING> (stdout)>". The ids are
// the addresses of our stream and process, as Python's are of its objects.
func (s *stream) closed(fd int) {
	if s.mainlog == nil {
		return
	}
	kind := "POutputDispatcher"
	if s.listener {
		kind = "PEventListenerDispatcher"
	}
	s.mainlog.Log(config.LevelDebug, "fd %d closed, stopped monitoring <%s at %d for <Subprocess at %d with name %s in state %s> (%s)>",
		fd, kind, reflect.ValueOf(s).Pointer(), reflect.ValueOf(s.p).Pointer(), s.p.Config.Name, State(s.p.shownState.Load()), s.channel)
}

// levelLogger is a Logger that can say which levels it writes.
type levelLogger interface {
	Enabled(level config.LogLevel) bool
}

// logsOutput reports whether l takes child output (debug or lower).
func logsOutput(l Logger) bool {
	ll, ok := l.(levelLogger)
	return ok && ll.Enabled(config.LevelDebug)
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

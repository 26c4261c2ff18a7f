package events

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"unicode/utf8"
)

// ListenerState is an event listener's protocol state.
type ListenerState int

// Listener states, with supervisor's codes.
const (
	Ready        ListenerState = 10
	Busy         ListenerState = 20
	Acknowledged ListenerState = 30
	Unknown      ListenerState = 40
)

func (s ListenerState) String() string {
	switch s {
	case Ready:
		return "READY"
	case Busy:
		return "BUSY"
	case Acknowledged:
		return "ACKNOWLEDGED"
	}
	return "UNKNOWN"
}

// Listener is a process of a pool, as the pool sees it.
type Listener interface {
	Name() string
	Running() bool
	// WriteStdin must not block: the pool runs on the daemon's event
	// loop. A process queues what it is sent (process.WriteStdin).
	WriteStdin([]byte) error
}

// Log is where a pool reports, at supervisor's levels (warn, error, debug).
type Log interface {
	Warn(format string, args ...any)
	Error(format string, args ...any)
	Debug(format string, args ...any)
}

// Pool is an [eventlistener:x] pool: a buffer of events and the listeners
// they are sent to, one at a time, each waiting for its RESULT.
type Pool struct {
	name       string
	identifier string
	bufferSize int
	subs       []string
	log        Log

	serial    int64
	buffer    []*Event
	listeners []Listener
	state     map[string]*listener
}

type listener struct {
	state     ListenerState
	event     *Event
	buf       []byte
	resultLen int // -1 until the RESULT line is read
	result    []byte
}

// NewPool returns a pool that buffers up to bufferSize events of the
// subscribed types. identifier is supervisord's, sent in each envelope.
func NewPool(name, identifier string, bufferSize int, subscriptions []string, log Log) *Pool {
	return &Pool{name: name, identifier: identifier, bufferSize: bufferSize, subs: subscriptions, log: log,
		serial: -1, state: map[string]*listener{}}
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// SetListeners sets the pool's processes, in the order events are offered.
func (p *Pool) SetListeners(ls []Listener) {
	p.listeners = ls
	for _, l := range ls {
		if p.state[l.Name()] == nil {
			p.state[l.Name()] = &listener{state: Acknowledged, resultLen: -1}
		}
	}
}

// State returns a listener's protocol state.
func (p *Pool) State(name string) ListenerState {
	if s := p.state[name]; s != nil {
		return s.state
	}
	return Unknown
}

// Buffered returns how many events wait in the buffer.
func (p *Pool) Buffered() int { return len(p.buffer) }

func (p *Pool) wants(t string) bool {
	for _, s := range p.subs {
		if Matches(s, t) {
			return true
		}
	}
	return false
}

// accept buffers an event (at the head when it comes back rejected),
// dropping the oldest when the buffer is full.
func (p *Pool) accept(e *Event, head bool) {
	if _, ok := e.poolSerials[p.name]; !ok {
		p.serial++
		e.poolSerials[p.name] = p.serial
	} else {
		p.log.Debug("rebuffering event %d for pool %s (buf size=%d, max=%d)", e.Serial, p.name, len(p.buffer), p.bufferSize)
	}
	if len(p.buffer) >= p.bufferSize && len(p.buffer) > 0 {
		dropped := p.buffer[0]
		p.buffer = p.buffer[1:]
		p.log.Error("pool %s event buffer overflowed, discarding event %d", p.name, dropped.Serial)
	}
	if head {
		p.buffer = append([]*Event{e}, p.buffer...)
	} else {
		p.buffer = append(p.buffer, e)
	}
}

// Started resets a listener that was just spawned: it must say READY.
func (p *Pool) Started(name string) {
	p.state[name] = &listener{state: Acknowledged, resultLen: -1}
}

// Exited handles a listener's exit: an event it was processing goes back
// to the head of the buffer.
func (p *Pool) Exited(name string) {
	s := p.state[name]
	if s == nil {
		return
	}
	if s.event != nil {
		p.accept(s.event, true)
		s.event = nil
	}
}

// Envelope is the header and payload a listener receives. len counts
// characters, as Python's len() of the payload does (and as listeners
// reading text expect).
func (p *Pool) Envelope(e *Event) string {
	return fmt.Sprintf("ver:3.0 server:%s serial:%d pool:%s poolserial:%d eventname:%s len:%d\n%s",
		p.identifier, e.Serial, p.name, e.poolSerials[p.name], e.Type, utf8.RuneCountInString(e.Payload), e.Payload)
}

// Dispatch sends buffered events to running listeners that are READY.
func (p *Pool) Dispatch() {
	for len(p.buffer) > 0 {
		e := p.buffer[0]
		p.buffer = p.buffer[1:]
		if !p.send(e) {
			p.buffer = append([]*Event{e}, p.buffer...)
			return
		}
	}
}

func (p *Pool) send(e *Event) bool {
	for _, l := range p.listeners {
		s := p.state[l.Name()]
		if !l.Running() || s == nil || s.state != Ready {
			continue
		}
		if err := l.WriteStdin([]byte(p.Envelope(e))); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				p.log.Debug("epipe occurred while sending event %d to listener %s, listener state unchanged", e.Serial, l.Name())
				continue
			}
			p.log.Debug("sending event %d to listener %s: %v", e.Serial, l.Name(), err)
			continue
		}
		s.state, s.event = Busy, e
		p.log.Debug("event %d sent to listener %s", e.Serial, l.Name())
		return true
	}
	return false
}

var (
	readyToken  = []byte("READY\n")
	resultToken = []byte("RESULT ")
)

// Output feeds what a listener wrote on stdout to the protocol.
func (p *Pool) Output(name string, data []byte) {
	s := p.state[name]
	if s == nil {
		return
	}
	s.buf = append(s.buf, data...)
	p.advance(name, s)
}

func (p *Pool) advance(name string, s *listener) {
	for len(s.buf) > 0 {
		switch s.state {
		case Unknown:
			s.buf = nil
			return
		case Acknowledged:
			if len(s.buf) < len(readyToken) {
				return
			}
			if bytes.HasPrefix(s.buf, readyToken) {
				p.change(name, s, Ready)
				s.buf = s.buf[len(readyToken):]
			} else {
				p.change(name, s, Unknown)
				s.buf = nil
			}
			s.event = nil
		case Ready:
			// Anything written while READY breaks the protocol.
			p.change(name, s, Unknown)
			s.buf, s.event = nil, nil
			return
		case Busy:
			if s.resultLen < 0 {
				i := bytes.IndexByte(s.buf, '\n')
				if i < 0 {
					return
				}
				line := s.buf[:i]
				s.buf = s.buf[i+1:]
				// As supervisor: whatever follows the first 7 bytes must be
				// the length.
				n, err := strconv.Atoi(string(bytes.TrimSpace(line[min(len(resultToken), len(line)):])))
				if err != nil || n < 0 {
					p.log.Warn("%s: bad result line: '%s'", name, text(line))
					p.change(name, s, Unknown)
					s.buf = nil
					p.reject(s)
					return
				}
				s.resultLen = n
				continue
			}
			need := s.resultLen - len(s.result)
			take := min(need, len(s.buf))
			s.result = append(s.result, s.buf[:take]...)
			s.buf = s.buf[take:]
			if len(s.result) < s.resultLen {
				return
			}
			p.result(name, s, s.result)
			s.result, s.resultLen, s.event = nil, -1, nil
		}
	}
}

// result handles a complete RESULT with supervisor's default handler:
// OK acknowledges the event, anything else rejects it (it is sent again).
func (p *Pool) result(name string, s *listener, body []byte) {
	if string(body) == "OK" {
		p.log.Debug("%s: event was processed", name)
		p.change(name, s, Acknowledged)
		return
	}
	p.log.Warn("%s: event was rejected", name)
	p.change(name, s, Acknowledged)
	p.reject(s)
}

func (p *Pool) reject(s *listener) {
	if s.event != nil {
		p.accept(s.event, true)
		s.event = nil
	}
}

func (p *Pool) change(name string, s *listener, to ListenerState) {
	p.log.Debug("%s: %s -> %s", name, s.state, to)
	s.state = to
	if to == Unknown {
		p.log.Warn("%s: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol", name)
	}
}

package logview

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gpudesk/runtime/services/logtail"
	"github.com/gpudesk/runtime/services/logtail/follow"
)

// Message is one event of a log stream, as sent to the page.
type Message struct {
	// T is "line" (a finished line), "partial" (the line being written:
	// replaces the previous partial), "truncated", "skipped" (a slow viewer
	// missed N lines) or "error".
	T string    `json:"t"`
	S []Segment `json:"s,omitempty"`
	N int       `json:"n,omitempty"`
	E string    `json:"e,omitempty"`
}

// Limits of a stream.
const (
	// History is how many lines a new viewer gets first.
	History = 500
	// viewerQueue is how many messages wait for a slow viewer before it
	// is told it skipped some.
	viewerQueue = 1024
	// maxPending bounds an unfinished line kept for rewriting.
	maxPending = 64 << 10
)

// Hub follows each log that someone is viewing once, however many
// viewers it has, and stops following when the last one leaves.
type Hub struct {
	Redactor *logtail.Redactor
	// FlushAfter is how long an unfinished line waits before it is shown
	// (follow.Options.FlushAfter).
	FlushAfter time.Duration

	mu      sync.Mutex
	streams map[string]*stream
	wg      sync.WaitGroup
}

type stream struct {
	path    string
	cancel  context.CancelFunc
	viewers map[*Viewer]struct{}
	history [][]byte // encoded "line" messages
	pending []byte
}

// Viewer receives encoded Messages on C.
type Viewer struct {
	C       chan []byte
	skipped int
	hub     *Hub
	path    string
}

// Close stops the viewer.
func (v *Viewer) Close() { v.hub.leave(v) }

// Watch starts a viewer of the log at path: the history first, then every
// new line.
func (h *Hub) Watch(path string) *Viewer {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams == nil {
		h.streams = map[string]*stream{}
	}
	v := &Viewer{C: make(chan []byte, viewerQueue+History), hub: h, path: path}
	s := h.streams[path]
	if s == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s = &stream{path: path, cancel: cancel, viewers: map[*Viewer]struct{}{}}
		h.streams[path] = s
		h.wg.Add(1)
		go h.follow(ctx, s)
	}
	for _, m := range s.history {
		v.C <- m
	}
	s.viewers[v] = struct{}{}
	return v
}

func (h *Hub) leave(v *Viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.streams[v.path]
	if s == nil {
		return
	}
	delete(s.viewers, v)
	if len(s.viewers) == 0 {
		s.cancel()
		delete(h.streams, v.path)
	}
}

// Wait waits for every follower to end (after their viewers left).
func (h *Hub) Wait() { h.wg.Wait() }

func (h *Hub) follow(ctx context.Context, s *stream) {
	defer h.wg.Done()
	opts := follow.Options{Lines: History, FlushAfter: h.FlushAfter}
	if h.Redactor.Len() > 0 {
		opts.Hold = h.Redactor.Hold
	}
	err := follow.Follow(ctx, []string{s.path}, opts, func(e follow.Event) { h.event(s, e) })
	if err != nil {
		h.publish(s, Message{T: "error", E: err.Error()}, false)
	}
}

func (h *Hub) event(s *stream, e follow.Event) {
	switch e.Kind {
	case follow.Line, follow.Cut:
		text := h.Redactor.Append(append([]byte(nil), s.pending...), e.Text)
		s.pending = s.pending[:0]
		h.publish(s, Message{T: "line", S: Render(string(text))}, true)
	case follow.Partial:
		s.pending = h.Redactor.Append(s.pending, e.Text)
		if len(s.pending) > maxPending {
			s.pending = []byte(LastRewrite(string(s.pending[len(s.pending)-maxPending:])))
		}
		h.publish(s, Message{T: "partial", S: Render(string(s.pending))}, false)
	case follow.Truncated:
		h.publish(s, Message{T: "truncated"}, false)
	case follow.Error:
		h.publish(s, Message{T: "error", E: e.Err.Error()}, false)
	}
}

func (h *Hub) publish(s *stream, m Message, keep bool) {
	b, _ := json.Marshal(m)
	h.mu.Lock()
	defer h.mu.Unlock()
	if keep {
		if len(s.history) >= History {
			s.history = append(s.history[:0:0], s.history[len(s.history)-History+1:]...)
		}
		s.history = append(s.history, b)
	}
	for v := range s.viewers {
		if v.skipped > 0 {
			if len(v.C) < viewerQueue/2 {
				sk, _ := json.Marshal(Message{T: "skipped", N: v.skipped})
				v.C <- sk
				v.skipped = 0
			} else {
				v.skipped++
				continue
			}
		}
		if len(v.C) >= viewerQueue {
			v.skipped++
			continue
		}
		v.C <- b
	}
}

package logview

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gpudesk/runtime/services/logtail"
	"github.com/gpudesk/runtime/services/logtail/follow"
)

// Message is one event of a log stream. The page gets them in frames:
// each element of Viewer.C (one server-sent event) is a JSON array of the
// Messages of one tick, encoded once for every viewer.
type Message struct {
	// T is "line" (a finished line), "partial" (the line being written:
	// replaces the previous partial), "truncated", "skipped" (N lines were
	// not sent: more came than a page can show) or "error".
	T string    `json:"t"`
	S []Segment `json:"s,omitempty"`
	N int       `json:"n,omitempty"`
	E string    `json:"e,omitempty"`
}

// Limits of a stream.
const (
	// History is how many lines a new viewer gets first.
	History = 500
	// Tick is how often new lines go out. Lines are collected between
	// ticks and rendered and encoded once, as one frame, for every viewer:
	// a viewer costs one channel send and one write a tick, however
	// chatty the log (4 a second is live to a reader).
	Tick = 250 * time.Millisecond
	// PerTick is the most lines sent a tick (PerTick/Tick = 500 lines a
	// second, more than a page can show). Beyond it the oldest of the tick
	// are counted in a "skipped" message: a viewer always sees the newest
	// lines; the download has every one.
	PerTick = 125
	// viewerQueue is how many frames wait for a slow viewer before it is
	// told it skipped some (16 s of ticks).
	viewerQueue = 64
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
	history []string // redacted lines, the newest last
	lines   int      // lines seen so far
	// histFrame is the history as of line histAt, one frame shared by the
	// viewers that join meanwhile (never written to once made).
	histFrame []byte
	histAt    int
	// Collected since the last tick (guarded by Hub.mu):
	fresh        []string
	freshSkipped int
	partial      []byte // the unfinished line (redacted), when dirty
	partialDirty bool
	events       []Message // truncated / error, in order
}

// Viewer receives frames on C: each a JSON array of Messages.
type Viewer struct {
	C       chan []byte
	skipped int // lines and events not queued since the last frame it got
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
	v := &Viewer{C: make(chan []byte, viewerQueue+1), hub: h, path: path}
	s := h.streams[path]
	if s == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s = &stream{path: path, cancel: cancel, viewers: map[*Viewer]struct{}{}}
		h.streams[path] = s
		h.wg.Add(2)
		go h.follow(ctx, s)
		go h.ticker(ctx, s)
	}
	if s.histFrame == nil || s.histAt != s.lines {
		h := s.history
		if len(h) > History {
			h = h[len(h)-History:]
		}
		msgs := make([][]byte, len(h))
		for i, l := range h {
			msgs[i] = encode(Message{T: "line", S: Render(l)})
		}
		s.histFrame, s.histAt = frame(msgs), s.lines
	}
	if len(s.history) > 0 {
		v.C <- s.histFrame
	}
	s.viewers[v] = struct{}{}
	return v
}

func encode(m Message) []byte {
	b, _ := json.Marshal(m)
	return b
}

// frame joins encoded Messages into one JSON array.
func frame(msgs [][]byte) []byte {
	n := 2
	for _, m := range msgs {
		n += len(m) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
	}
	return append(b, ']')
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
	var pending []byte // the unfinished line so far (owned by this goroutine)
	err := follow.Follow(ctx, []string{s.path}, opts, func(e follow.Event) {
		h.mu.Lock()
		defer h.mu.Unlock()
		switch e.Kind {
		case follow.Line, follow.Cut:
			text := string(h.Redactor.Append(pending, e.Text))
			pending = pending[:0]
			s.partialDirty, s.partial = false, nil
			s.history = append(s.history, text)
			s.lines++
			if len(s.history) > 2*History { // trimmed in steps, not per line
				s.history = append([]string(nil), s.history[len(s.history)-History:]...)
			}
			s.fresh = append(s.fresh, text)
			if len(s.fresh) > 2*PerTick {
				s.freshSkipped += len(s.fresh) - PerTick
				s.fresh = append(s.fresh[:0], s.fresh[len(s.fresh)-PerTick:]...)
			}
		case follow.Partial:
			pending = h.Redactor.Append(pending, e.Text)
			if len(pending) > maxPending {
				pending = []byte(LastRewrite(string(pending[len(pending)-maxPending:])))
			}
			s.partial, s.partialDirty = append(s.partial[:0], pending...), true
		case follow.Truncated:
			s.events = append(s.events, Message{T: "truncated"})
		case follow.Error:
			s.events = append(s.events, Message{T: "error", E: e.Err.Error()})
		}
	})
	if err != nil {
		h.mu.Lock()
		s.events = append(s.events, Message{T: "error", E: err.Error()})
		h.mu.Unlock()
	}
}

// ticker sends what was collected every Tick, encoded once for all.
func (h *Hub) ticker(ctx context.Context, s *stream) {
	defer h.wg.Done()
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		fresh, skipped := s.fresh, s.freshSkipped
		if len(fresh) > PerTick {
			skipped += len(fresh) - PerTick
			fresh = fresh[len(fresh)-PerTick:]
		}
		var partial []byte
		if s.partialDirty {
			partial = append([]byte(nil), s.partial...)
		}
		events := s.events
		s.fresh, s.freshSkipped, s.partialDirty, s.events = nil, 0, false, nil
		h.mu.Unlock()
		if len(fresh) == 0 && skipped == 0 && partial == nil && len(events) == 0 {
			continue
		}
		// Render and encode outside the lock, once for every viewer.
		var out [][]byte
		for _, m := range events {
			out = append(out, encode(m))
		}
		if skipped > 0 {
			out = append(out, encode(Message{T: "skipped", N: skipped}))
		}
		for _, l := range fresh {
			out = append(out, encode(Message{T: "line", S: Render(l)}))
		}
		if partial != nil {
			out = append(out, encode(Message{T: "partial", S: Render(string(partial))}))
		}
		h.deliver(s, frame(out), len(out))
	}
}

// deliver queues f (n messages) for every viewer; a viewer whose queue
// is full skips it, and is told how much it skipped in a frame of its own
// once it has caught up by half.
func (h *Hub) deliver(s *stream, f []byte, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for v := range s.viewers {
		if v.skipped > 0 && len(v.C) < viewerQueue/2 {
			v.C <- frame([][]byte{encode(Message{T: "skipped", N: v.skipped})})
			v.skipped = 0
		}
		if v.skipped > 0 || len(v.C) >= viewerQueue {
			v.skipped += n
			continue
		}
		v.C <- f
	}
}

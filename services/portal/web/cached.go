package web

import (
	"context"
	"sync"
	"time"
)

// Cached holds the last answer of a slow lookup (a GPU tool, a file
// system walk). Get never waits for it: it returns the last answer and,
// when that is older than MaxAge, starts one refresh in the background.
// Nothing runs while nobody asks, so an idle portal spawns no nvidia-smi.
type Cached[T any] struct {
	Fetch  func(ctx context.Context) (T, error)
	MaxAge time.Duration
	Ctx    context.Context // ends refreshes; context.Background when nil

	mu      sync.Mutex
	val     T
	err     error
	at      time.Time
	running bool
	wg      sync.WaitGroup
	ready   chan struct{}
}

// Get returns the last answer and when it was made (zero before the first).
func (c *Cached[T]) Get() (T, error, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	if !c.running && time.Since(c.at) > c.MaxAge {
		c.running = true
		c.wg.Add(1)
		go c.refresh()
	}
	return c.val, c.err, c.at
}

// Wait waits for the first answer or ctx, whichever comes first (used by
// the API so that its first call is not empty).
func (c *Cached[T]) Wait(ctx context.Context) (T, error, time.Time) {
	v, err, at := c.Get()
	if !at.IsZero() {
		return v, err, at
	}
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
	}
	return c.Get()
}

func (c *Cached[T]) refresh() {
	defer c.wg.Done()
	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	v, err := c.Fetch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.at.IsZero()
	c.val, c.err, c.at, c.running = v, err, time.Now(), false
	if first {
		close(c.ready)
	}
}

// Close waits for a running refresh.
func (c *Cached[T]) Close() { c.wg.Wait() }

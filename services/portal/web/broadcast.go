package web

import "sync"

// Broadcaster hands the latest message to every subscriber; a subscriber
// that has not taken the previous one gets only the newest (state
// messages are whole pictures, so nothing is lost by skipping).
type Broadcaster struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
	last []byte
}

// NewBroadcaster returns an empty Broadcaster.
func NewBroadcaster() *Broadcaster { return &Broadcaster{subs: map[chan []byte]struct{}{}} }

// Subscribe returns a channel that gets the last message at once and every
// later one; cancel ends it.
func (b *Broadcaster) Subscribe() (c chan []byte, cancel func()) {
	c = make(chan []byte, 1)
	b.mu.Lock()
	if b.last != nil {
		c <- b.last
	}
	b.subs[c] = struct{}{}
	b.mu.Unlock()
	return c, func() {
		b.mu.Lock()
		delete(b.subs, c)
		b.mu.Unlock()
	}
}

// Publish sends m to every subscriber.
func (b *Broadcaster) Publish(m []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = m
	for c := range b.subs {
		select {
		case <-c: // drop the one not taken
		default:
		}
		c <- m
	}
}

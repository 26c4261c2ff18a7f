package auth

import (
	"math"
	"sync"
	"time"
)

// Password attempts are limited by token buckets, one per client address
// and one for everyone: a failed attempt spends a token, and an attempt
// without a token is answered 429 before bcrypt runs, so a flood of
// guesses costs a map lookup each.
const (
	// PerAddressBurst attempts are allowed at once from one address, then
	// one per PerAddressEvery.
	PerAddressBurst = 10
	PerAddressEvery = 6 * time.Second
	// GlobalBurst and GlobalEvery bound failed attempts from everyone
	// together: at most one bcrypt check (about 80 ms at cost 11) per
	// GlobalEvery once the burst is spent.
	GlobalBurst = 30
	GlobalEvery = 500 * time.Millisecond
	// maxAddresses bounds the table; beyond it, addresses share a bucket.
	maxAddresses = 4096
)

type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, burst int, every time.Duration) {
	if b.at.IsZero() {
		b.tokens, b.at = float64(burst), now
		return
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+float64(d)/float64(every))
		b.at = now
	}
}

// wait is how long until the bucket has a token.
func (b *bucket) wait(every time.Duration) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(every))
}

// Limiter limits password attempts.
type Limiter struct {
	// Every is the per-address refill interval (PerAddressEvery when
	// zero); tests stretch it so that no token comes back mid-test.
	Every  time.Duration
	mu     sync.Mutex
	now    func() time.Time
	global bucket
	addrs  map[string]*bucket
	shared bucket
}

// NewLimiter returns a limiter reading the time from now (nil: time.Now).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, addrs: map[string]*bucket{}}
}

func (l *Limiter) bucketOf(addr string, now time.Time) *bucket {
	b := l.addrs[addr]
	if b != nil {
		return b
	}
	if len(l.addrs) >= maxAddresses {
		for k, v := range l.addrs { // forget addresses that are back to full
			v.refill(now, PerAddressBurst, l.every())
			if v.tokens >= PerAddressBurst {
				delete(l.addrs, k)
			}
		}
		if len(l.addrs) >= maxAddresses {
			return &l.shared
		}
	}
	b = &bucket{}
	l.addrs[addr] = b
	return b
}

func (l *Limiter) every() time.Duration {
	if l.Every > 0 {
		return l.Every
	}
	return PerAddressEvery
}

// Take spends a token for an attempt from addr. It returns 0 when the
// attempt may go ahead, or how long to wait (Retry-After).
func (l *Limiter) Take(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucketOf(addr, now)
	b.refill(now, PerAddressBurst, l.every())
	l.global.refill(now, GlobalBurst, GlobalEvery)
	if w := max(b.wait(l.every()), l.global.wait(GlobalEvery)); w > 0 {
		return w
	}
	b.tokens--
	l.global.tokens--
	return 0
}

// Refund gives back the token of an attempt that succeeded: only failures
// count.
func (l *Limiter) Refund(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.addrs[addr]; b != nil {
		b.tokens = math.Min(PerAddressBurst, b.tokens+1)
	}
	l.global.tokens = math.Min(GlobalBurst, l.global.tokens+1)
}

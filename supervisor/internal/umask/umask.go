// Package umask serialises the brief umask changes made around a fork with
// every file the daemon creates meanwhile. The umask belongs to the whole
// process: a log file created by a capture goroutine while another
// goroutine has set a child's umask=077 for its fork would get that
// child's mode instead of the daemon's.
package umask

import (
	"sync"
	"syscall"
)

var mu sync.RWMutex

// Fork runs fn (a fork) with the umask set to mask, then restores it.
// mask < 0 leaves the umask alone. No file is created by Create meanwhile.
func Fork(mask int, fn func()) {
	mu.Lock()
	defer mu.Unlock()
	if mask >= 0 {
		old := syscall.Umask(mask)
		defer syscall.Umask(old)
	}
	fn()
}

// Create runs fn, which creates files, under the daemon's own umask. Any
// number of Creates run at once; only Fork excludes them.
func Create(fn func()) {
	mu.RLock()
	defer mu.RUnlock()
	fn()
}

package registry

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Settle is how long the folder must be quiet before it is read again: a
// writer's create-then-write arrives as one change, well inside the
// second a route has to go live in.
const Settle = 50 * time.Millisecond

// Watch calls onChange with the folder's entries now and after every
// change to it, until ctx is done. The folder is made when missing
// (mode 0755). A folder that cannot be watched is read again every
// fallback instead, and said once through onErr.
func Watch(ctx context.Context, dir string, fallback time.Duration, onChange func([]Entry, error), onErr func(error)) {
	if err := os.MkdirAll(dir, 0o755); err != nil && onErr != nil {
		onErr(fmt.Errorf("making %s: %w", dir, err))
	}
	var events <-chan fsnotify.Event
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(dir); err == nil {
			events = w.Events
		}
		defer w.Close()
	}
	if err != nil && onErr != nil {
		onErr(fmt.Errorf("watching %s: %w (reading it every %s instead)", dir, err, fallback))
	}
	onChange(Scan(dir))
	tick := time.NewTicker(fallback)
	defer tick.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			settle.Reset(Settle)
		case <-settle.C:
			onChange(Scan(dir))
		case <-tick.C:
			if events == nil {
				if w != nil && w.Add(dir) == nil {
					events = w.Events
				}
			}
			onChange(Scan(dir))
		}
	}
}

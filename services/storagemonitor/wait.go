package storagemonitor

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// DefaultWaitFor is the marker the images create while /opt is being moved
// into the workspace; the monitor starts once it is gone.
const DefaultWaitFor = "/run/workspace_sync"

// WaitGone returns once nothing is at p, or when ctx is done (with its
// error). It watches p's folder and, in case that watch is impossible or
// misses the removal, looks again every poll.
func WaitGone(ctx context.Context, p string, poll time.Duration, log zerolog.Logger) error {
	if _, err := os.Lstat(p); err != nil {
		return nil
	}
	log.Info().Str("path", p).Msg("waiting for the workspace sync to finish (the marker to be removed)")
	start := time.Now()
	var events <-chan fsnotify.Event
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		if w.Add(filepath.Dir(p)) == nil {
			events = w.Events
		}
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := os.Lstat(p); err != nil {
			log.Info().Str("path", p).Dur("waited", time.Since(start)).Msg("the marker is gone; starting")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-events:
		case <-t.C:
		}
	}
}

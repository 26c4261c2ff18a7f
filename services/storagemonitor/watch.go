package storagemonitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher watches single folders (not recursively) for entries that are
// created, moved in, moved out, renamed or removed. NewFSNotify is the
// real one; tests inject others (a watcher that runs out of watches).
type Watcher interface {
	Add(dir string) error
	Remove(dir string) error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
}

// NewFSNotify returns a Watcher backed by fsnotify (inotify on Linux).
func NewFSNotify() (Watcher, error) {
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, err
	}
	return fsnotifyWatcher{w}, nil
}

type fsnotifyWatcher struct{ w *fsnotify.Watcher }

func (f fsnotifyWatcher) Add(dir string) error          { return f.w.Add(dir) }
func (f fsnotifyWatcher) Remove(dir string) error       { return f.w.Remove(dir) }
func (f fsnotifyWatcher) Events() <-chan fsnotify.Event { return f.w.Events }
func (f fsnotifyWatcher) Errors() <-chan error          { return f.w.Errors }
func (f fsnotifyWatcher) Close() error                  { return f.w.Close() }

// resetWatcher drops the current watcher and its watches and makes a new
// one. Without a watcher the whole storage is re-scanned periodically.
func (m *Monitor) resetWatcher() {
	if m.opts.DryRun {
		return
	}
	if m.watcher != nil {
		m.watcher.Close()
		m.watcher = nil
	}
	clear(m.watched)
	clear(m.unwatched)
	m.limitErr = nil
	newWatcher := m.opts.NewWatcher
	if newWatcher == nil {
		newWatcher = NewFSNotify
	}
	w, err := newWatcher()
	if err != nil {
		msg := "cannot watch the storage folder"
		if errors.Is(err, syscall.EMFILE) {
			msg += fmt.Sprintf(": the inotify instance limit is reached (fs.inotify.max_user_instances = %s; raise it on the host, e.g. sysctl -w fs.inotify.max_user_instances=1024)", m.procValue("max_user_instances"))
		}
		m.log.Error().Str("path", m.root).Err(err).Msgf("%s; the whole storage is re-scanned every %s instead", msg, m.opts.RescanInterval)
		return
	}
	m.watcher = w
}

// addWatch watches the storage folder rel. A folder that cannot be
// watched is remembered and re-scanned periodically.
func (m *Monitor) addWatch(rel string) {
	if m.watcher == nil {
		return
	}
	if _, ok := m.watched[rel]; ok {
		return
	}
	p := m.realPath(rel)
	err := m.watcher.Add(p)
	switch {
	case err == nil:
		m.watched[rel] = struct{}{}
		delete(m.unwatched, rel)
	case isNotExist(err):
		// gone already; its parent's events say so
	default:
		if m.limitErr == nil {
			m.limitErr = &os.PathError{Op: "watch", Path: p, Err: err}
		}
		m.unwatched[rel] = struct{}{}
	}
}

// unwatchTree drops the watches of the storage folder rel and of every
// folder below it (a folder moved away keeps its inotify watch, under
// its old name).
func (m *Monitor) unwatchTree(rel string) {
	if _, ok := m.watched[rel]; ok {
		for k := range m.watched {
			if k == rel || within(k, rel) {
				delete(m.watched, k)
				m.watcher.Remove(m.realPath(k))
			}
		}
	}
	for k := range m.unwatched {
		if k == rel || within(k, rel) {
			delete(m.unwatched, k)
		}
	}
}

// reportUnwatched logs, when folders start to go unwatched, why and what
// to do; and when every folder is watched again, that too.
func (m *Monitor) reportUnwatched() {
	if m.watcher == nil {
		return
	}
	switch {
	case len(m.unwatched) > 0 && m.limitErr != nil:
		err := m.limitErr
		m.limitErr = errReported
		var pe *os.PathError
		path := ""
		if errors.As(err, &pe) {
			path = pe.Path
		}
		if errors.Is(err, syscall.ENOSPC) {
			limit := m.procValue("max_user_watches")
			suggest := 524288
			if n, err := strconv.Atoi(limit); err == nil {
				suggest = max(suggest, roundUp(2*(n+len(m.unwatched)), 1024))
			}
			m.log.Error().Str("path", path).Int("watched", len(m.watched)).Int("unwatched", len(m.unwatched)).
				Msgf("inotify watch limit reached: fs.inotify.max_user_watches is %s and %d storage folders could not be watched; raise it on the host to at least %d (sysctl -w fs.inotify.max_user_watches=%d, and in /etc/sysctl.d/ to keep it); until then those folders are re-scanned every %s",
					limit, len(m.unwatched), suggest, suggest, m.opts.RescanInterval)
			return
		}
		m.log.Error().Str("path", path).Err(errors.Unwrap(err)).Int("unwatched", len(m.unwatched)).
			Msgf("cannot watch storage folders; they are re-scanned every %s", m.opts.RescanInterval)
	case len(m.unwatched) == 0 && m.limitErr == errReported:
		m.limitErr = nil
		m.log.Info().Int("watched", len(m.watched)).Msg("every storage folder is watched again")
	}
}

var errReported = errors.New("reported")

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// procValue reads /proc/sys/fs/inotify/<name>, or says it is unknown.
func (m *Monitor) procValue(name string) string {
	b, err := os.ReadFile(filepath.Join(m.opts.ProcRoot, "sys/fs/inotify", name))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// loop handles file events until ctx is done.
func (m *Monitor) loop(ctx context.Context) error {
	rescan := time.NewTimer(time.Hour)
	rescan.Stop()
	summary := time.NewTimer(time.Hour)
	summary.Stop()
	var rescanC, summaryC <-chan time.Time
	last := m.Stats()
	for {
		if rescanC == nil && m.needsRescan() {
			rescan.Reset(m.opts.RescanInterval)
			rescanC = rescan.C
		}
		if summaryC == nil && m.Stats() != last {
			summary.Reset(summaryDelay)
			summaryC = summary.C
		}
		var events <-chan fsnotify.Event
		var errs <-chan error
		if m.watcher != nil {
			events, errs = m.watcher.Events(), m.watcher.Errors()
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				m.watcherLost(errors.New("the watcher stopped"))
				continue
			}
			m.handle(ev)
		case err, ok := <-errs:
			if !ok {
				m.watcherLost(errors.New("the watcher stopped"))
				continue
			}
			m.watchError(err)
		case <-rescanC:
			rescanC = nil
			m.rescan()
		case <-summaryC:
			summaryC = nil
			m.drain()
			s := m.Stats()
			m.log.Info().Int("linked", s.Linked-last.Linked).Int("removed", s.Removed-last.Removed).
				Int("conflicts", s.Conflicts-last.Conflicts).Int("errors", s.Errors-last.Errors).
				Int("watched_folders", len(m.watched)).Msgf("changes in the last %s", summaryDelay)
			last = s
		}
	}
}

func (m *Monitor) needsRescan() bool {
	return m.watcher == nil || m.rootLost || len(m.unwatched) > 0 || len(m.pending) > 0
}

// handle applies one file event.
func (m *Monitor) handle(ev fsnotify.Event) {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return
	}
	if ev.Name == m.realRoot {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			m.storageLost()
		}
		return
	}
	rel, ok := strings.CutPrefix(ev.Name, m.realRoot+"/")
	if !ok || m.rootLost {
		return
	}
	// The common case, a new file, goes straight to the link workers.
	if !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		if fi, err := m.fs.Lstat(ev.Name); err == nil && fi.Mode().IsRegular() {
			m.linkFile(rel)
			return
		}
	}
	m.drain()
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		m.unwatchTree(rel)
	}
	m.reconcile(rel)
	m.reportUnwatched()
}

// watchError handles an error from the watcher. A queue overflow means
// events were lost: every watch is made again and the whole storage
// re-scanned.
func (m *Monitor) watchError(err error) {
	m.drain()
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		m.log.Warn().Str("path", m.root).Msg("the inotify event queue overflowed and events were lost; re-scanning the whole storage")
		m.fullRescan()
		return
	}
	m.log.Error().Str("path", m.root).Err(err).Msg("watch error")
}

func (m *Monitor) watcherLost(err error) {
	m.log.Error().Str("path", m.root).Err(err).Msgf("the storage is no longer watched; re-scanning it every %s", m.opts.RescanInterval)
	if m.watcher != nil {
		m.watcher.Close()
	}
	m.watcher = nil
	clear(m.watched)
	clear(m.unwatched)
}

func (m *Monitor) storageLost() {
	m.drain()
	m.log.Warn().Str("path", m.root).Msgf("the storage folder was removed or moved; looking for it every %s", m.opts.RescanInterval)
	m.rootLost = true
	if m.watcher != nil {
		m.watcher.Close()
		m.watcher = nil
	}
	clear(m.watched)
	clear(m.unwatched)
	m.cleanupTargets()
}

// fullRescan makes the watches again and walks the whole storage.
func (m *Monitor) fullRescan() {
	m.drain()
	m.resetWatcher()
	m.walkStart("")
	m.drain()
	m.cleanupTargets()
	m.reportUnwatched()
}

// rescan runs every RescanInterval while something is not watched: it
// looks for missing target folders, and walks the folders that could not
// be watched (trying to watch them again), linking new files and removing
// links of deleted ones.
func (m *Monitor) rescan() {
	m.drain()
	if m.rootLost {
		if fi, err := os.Stat(m.root); err != nil || !fi.IsDir() {
			return
		}
		m.rootLost = false
		m.log.Info().Str("path", m.root).Msg("the storage folder is back")
		m.resolveRoots()
		m.fullRescan()
		return
	}
	m.retryPending()
	if m.watcher == nil {
		m.walkStart("")
		m.drain()
		m.cleanupTargets()
		return
	}
	var rels []string
	for rel := range m.unwatched {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var top []string
	for _, rel := range rels {
		covered := false
		for p := parentRel(rel); p != "" && !covered; p = parentRel(p) {
			_, covered = m.unwatched[p]
		}
		if _, root := m.unwatched[""]; root && rel != "" {
			covered = true
		}
		if !covered {
			top = append(top, rel)
		}
	}
	for _, rel := range top {
		delete(m.unwatched, rel)
		fi, err := os.Stat(m.realPath(rel))
		if err != nil || !fi.IsDir() {
			m.reconcile(rel)
			continue
		}
		m.walkStart(rel)
		m.drain()
		if rel == "" {
			m.cleanupTargets()
			continue
		}
		for _, mi := range m.mirrorsFor(rel, true) {
			m.cleanupTree(mi.dir, nil)
		}
		for _, r := range m.routes {
			if within(r.key, rel) {
				m.cleanupTree(r.target, nil)
			}
		}
	}
	m.reportUnwatched()
}

// retryPending activates the target folders that have appeared since,
// and makes those whose parent folder has. A pending target's problem is
// logged again only when it changes, not every RescanInterval.
func (m *Monitor) retryPending() {
	if len(m.pending) == 0 {
		return
	}
	old := m.pending
	m.pending = nil
	var keys []string
	for _, p := range old {
		routes := len(m.routes)
		if _, err := m.checkTarget(p.m, p.target, p.order, p.reported); err != nil {
			continue
		}
		if len(m.routes) > routes {
			m.log.Info().Str("path", p.target).Str("storage", p.m.Storage).Msg("the target folder exists now; linking into it")
			keys = append(keys, p.m.Storage)
		}
	}
	if len(keys) == 0 {
		return
	}
	m.indexRoutes()
	for _, k := range keys {
		if fi, err := os.Stat(m.realPath(k)); err == nil && fi.IsDir() {
			m.walkStart(k)
		}
	}
}

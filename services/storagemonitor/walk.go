package storagemonitor

// The start-up pass and the walk of a storage folder: mirror folders in
// the targets and a link per file.

import (
	"errors"
	"io/fs"
	"strings"
	"time"
)

// startupPass links the image storage, removes the monitor's stale links
// in the targets, and walks the storage tree making every link.
func (m *Monitor) startupPass() {
	start := time.Now()
	before := m.Stats()
	m.mu.Lock()
	m.stats.Files, m.stats.Folders = 0, 0
	m.mu.Unlock()
	m.linkImage()
	// Stale links go first: the outcome is the same as after the walk
	// (the walk never makes a broken link), and the links the walk makes
	// need no second look.
	m.cleanupTargets()
	m.walkStart("")
	m.drain()
	m.reportUnwatched()
	d := time.Since(start)
	s := m.Stats()
	ev := m.log.Info().Int("files", s.Files).Int("folders", s.Folders).Int("mappings", len(m.opts.Mappings)).
		Int("linked", s.Linked-before.Linked).Int("removed", s.Removed-before.Removed).
		Int("image_linked", s.ImageLinked-before.ImageLinked).Int("conflicts", s.Conflicts-before.Conflicts).
		Int("errors", s.Errors-before.Errors+len(m.problems)).Str("took", d.Round(time.Millisecond).String())
	if m.watcher != nil {
		ev = ev.Int("watched_folders", len(m.watched))
	}
	msg := "start-up pass done"
	if m.opts.DryRun {
		msg = "dry run done; nothing was changed"
	}
	ev.Msg(msg)
}

// walkStart walks the storage folder rel and everything below it, making
// links into every target that maps it (and watching each folder first
// when watching).
func (m *Monitor) walkStart(rel string) {
	m.walk(rel, m.mirrorsFor(rel, true))
}

// mirrorsFor returns the target folders that mirror the storage folder
// rel, making them (and their parents below the target) when missing.
// With checkRoot, a target folder that is gone is reported and skipped;
// without, link finds out (one call less per file in a burst).
func (m *Monitor) mirrorsFor(rel string, checkRoot bool) []mirror {
	var out []mirror
	for p := rel; p != ""; p = parentRel(p) {
		for _, r := range m.byKey[p] {
			if checkRoot && !m.targetOK(r) {
				continue
			}
			sub := rel[len(p):]
			if sub == "" {
				out = append(out, mirror{r, r.target})
				continue
			}
			if m.ensureChain(r.target, sub[1:]) {
				out = append(out, mirror{r, r.target + sub})
			}
		}
	}
	return out
}

// targetOK reports whether a route's target folder is there.
func (m *Monitor) targetOK(r *route) bool {
	fi, err := m.fs.Stat(r.target)
	if err == nil && fi.IsDir() {
		return true
	}
	if err == nil {
		err = errors.New("not a folder")
	}
	m.fail(r.target, "the target folder is gone", err)
	return false
}

// ensureChain makes the folders of sub below target.
func (m *Monitor) ensureChain(target, sub string) bool {
	d := target
	for _, part := range strings.Split(sub, "/") {
		d += "/" + part
		if !m.ensureDir(d) {
			return false
		}
	}
	return true
}

// ensureDir makes the mirror folder d when missing. A link of the
// monitor's own in its place (as the ai-dock images linked folders) is
// replaced by a real folder; anything else in the way is a conflict.
func (m *Monitor) ensureDir(d string) bool {
	fi, err := m.fs.Lstat(d)
	switch {
	case err == nil && fi.IsDir():
		return true
	case isNotExist(err):
		if err := m.fs.Mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
			m.fail(d, "cannot make the folder", err)
			return false
		}
		m.log.Debug().Str("path", d).Msg("made folder")
		return true
	case err != nil:
		m.fail(d, "cannot read the folder", err)
		return false
	case fi.Mode()&fs.ModeSymlink != 0:
		dest, err := m.fs.Readlink(d)
		if err != nil {
			m.fail(d, "cannot read the link", err)
			return false
		}
		if !m.owned(d, dest) {
			m.conflict(d, "", "a symlink to "+dest+" that is not ours is where a folder goes; it is left alone")
			return false
		}
		if err := m.fs.Remove(d); err != nil && !isNotExist(err) {
			m.fail(d, "cannot replace the folder link", err)
			return false
		}
		if err := m.fs.Mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
			m.fail(d, "cannot make the folder", err)
			return false
		}
		m.mu.Lock()
		m.stats.Removed++
		m.mu.Unlock()
		m.log.Info().Str("path", d).Str("was", dest).Msg("replaced a folder link with a folder of file links")
		return true
	default:
		m.conflict(d, "", "a file is where a folder goes; it is left alone")
		return false
	}
}

// walk links the files of the storage folder rel into mirrors and walks
// its sub-folders.
func (m *Monitor) walk(rel string, mirrors []mirror) {
	if m.ctx != nil && m.ctx.Err() != nil {
		return
	}
	dir := m.realPath(rel)
	m.addWatch(rel)
	entries, err := m.fs.ReadDir(dir)
	if err != nil {
		if !isNotExist(err) {
			m.fail(dir, "cannot read the storage folder", err)
		}
		return
	}
	files := 0
	defer func() {
		m.mu.Lock()
		m.stats.Folders++
		m.stats.Files += files
		m.mu.Unlock()
	}()
	for _, e := range entries {
		name := e.Name()
		crel := joinRel(rel, name)
		typ := e.Type()
		if typ.IsDir() {
			var sub []mirror
			for _, mi := range mirrors {
				d := mi.dir + "/" + name
				if m.ensureDir(d) {
					sub = append(sub, mirror{mi.r, d})
				}
			}
			for _, r := range m.byKey[crel] {
				if m.targetOK(r) {
					sub = append(sub, mirror{r, r.target})
				}
			}
			m.walk(crel, sub)
			continue
		}
		if !typ.IsRegular() && typ&fs.ModeSymlink == 0 {
			continue
		}
		files++
		if len(mirrors) == 0 {
			continue
		}
		if typ&fs.ModeSymlink != 0 {
			if _, err := m.fs.Stat(dir + "/" + name); err != nil {
				continue // a dangling link counts as no file
			}
		}
		src := m.srcPath(crel)
		for _, mi := range mirrors {
			m.dispatch(mi.r, mi.dir+"/"+name, src)
		}
	}
}

// winner returns the storage path that the target path t should link
// to when several mappings reach t: the first existing candidate in
// mapping order, or "".
func (m *Monitor) winner(t string) string {
	for _, r := range m.overlaps {
		if !within(t, r.target) {
			continue
		}
		rel := r.key + t[len(r.target):]
		if _, err := m.fs.Stat(m.realPath(rel)); err == nil {
			return m.srcPath(rel)
		}
	}
	return ""
}

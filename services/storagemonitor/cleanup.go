package storagemonitor

// Clean-up: removing the monitor's own links that no longer lead to a file.

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"syscall"
)

// cleanupTargets removes stale links of the monitor's own anywhere under
// the target folders (left by deleted files, or by another container that
// shares the volume).
func (m *Monitor) cleanupTargets() {
	var roots []string
	seen := map[string]bool{}
	for _, r := range m.routes {
		if !seen[r.target] {
			seen[r.target] = true
			roots = append(roots, r.target)
		}
	}
	sort.Strings(roots)
	for _, t := range roots {
		nested := false
		for p := filepath.Dir(t); p != "/"; p = filepath.Dir(p) {
			if seen[p] {
				nested = true
				break
			}
		}
		if !nested {
			m.cleanupTree(t, nil)
		}
	}
}

// isStale reports whether the symlink at t is one of the monitor's own
// that no longer leads to a file.
func (m *Monitor) isStale(t string) (dest string, stale bool) {
	_, err := m.fs.Stat(t)
	if err == nil || !(isNotExist(err) || errors.Is(err, syscall.ELOOP)) {
		return "", false
	}
	dest, err = m.fs.Readlink(t)
	if err != nil || !m.owned(t, dest) {
		return "", false
	}
	return dest, true
}

// removeIfStale removes the symlink t if it is the monitor's own and
// broken.
func (m *Monitor) removeIfStale(t string) bool {
	dest, stale := m.isStale(t)
	if !stale {
		return false
	}
	if err := m.fs.Remove(t); err != nil {
		if !isNotExist(err) {
			m.fail(t, "cannot remove the stale link", err)
		}
		return false
	}
	m.mu.Lock()
	m.stats.Removed++
	delete(m.reported, t)
	m.mu.Unlock()
	m.log.Debug().Str("link", t).Str("source", dest).Msg("removed stale link")
	return true
}

// cleanupTree removes the stale links of the monitor's own in dir and
// below, without following symlinks into other folders and without
// entering the storage itself. Folders are never removed.
func (m *Monitor) cleanupTree(dir string, removed *[]string) {
	entries, err := m.fs.ReadDir(dir)
	if err != nil {
		if !isNotExist(err) && !errors.Is(err, syscall.ENOTDIR) {
			m.fail(dir, "cannot read the target folder", err)
		}
		return
	}
	for _, e := range entries {
		p := dir + "/" + e.Name()
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			if m.removeIfStale(p) && removed != nil {
				*removed = append(*removed, p)
			}
		case e.IsDir():
			if m.isRoot(p) {
				continue
			}
			m.cleanupTree(p, removed)
		}
	}
}

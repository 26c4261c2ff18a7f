package storagemonitor

// Changes while watching: bringing one storage path's links up to date.

import (
	"io/fs"
	"path"
	"strings"
)

// reconcile brings the links of the storage path rel up to date with
// what is there now: a folder is walked, a file linked, a missing path
// (or a dangling symlink) has its stale links removed.
func (m *Monitor) reconcile(rel string) {
	p := m.realPath(rel)
	fi, err := m.fs.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			m.gone(rel)
		} else {
			m.fail(p, "cannot read the storage path", err)
		}
		return
	}
	if fi.IsDir() {
		m.walkStart(rel)
		return
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if _, err := m.fs.Stat(p); err != nil {
			m.gone(rel)
			return
		}
	} else if !fi.Mode().IsRegular() {
		return
	}
	m.linkFile(rel)
}

// linkFile links the storage file rel into every target that maps it.
func (m *Monitor) linkFile(rel string) {
	name := path.Base(rel)
	src := m.srcPath(rel)
	for _, mi := range m.mirrorsFor(parentRel(rel), false) {
		m.dispatch(mi.r, mi.dir+"/"+name, src)
	}
}

// gone removes the links of the storage path rel, which is no longer
// there (a file or a whole folder), and links what other mappings now
// provide at the freed paths.
func (m *Monitor) gone(rel string) {
	m.drain()
	m.unwatchTree(rel)
	var removed []string
	for p := rel; p != ""; p = parentRel(p) {
		for _, r := range m.byKey[p] {
			t := r.target + rel[len(p):]
			m.forget(t)
			fi, err := m.fs.Lstat(t)
			switch {
			case err != nil:
			case fi.Mode()&fs.ModeSymlink != 0:
				if m.removeIfStale(t) {
					removed = append(removed, t)
				}
			case fi.IsDir():
				m.cleanupTree(t, &removed)
			}
		}
	}
	for _, r := range m.routes {
		if within(r.key, rel) {
			m.cleanupTree(r.target, &removed)
		}
	}
	m.forget(m.realPath(rel))
	if len(m.overlaps) == 0 {
		return
	}
	for _, t := range removed {
		if w := m.winner(t); w != "" {
			m.reconcile(strings.TrimPrefix(w, m.root+"/"))
		}
	}
}

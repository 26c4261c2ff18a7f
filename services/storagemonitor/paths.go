package storagemonitor

// Paths: storage-relative names, where links point, and which links are
// the monitor's own.

import (
	"path/filepath"
	"strings"
)

// within reports whether p is strictly inside dir.
func within(p, dir string) bool {
	return dir != "" && strings.HasPrefix(p, dir+"/")
}

func (m *Monitor) realPath(rel string) string {
	if rel == "" {
		return m.realRoot
	}
	return m.realRoot + "/" + rel
}

// srcPath is what links point at: the storage path as configured.
func (m *Monitor) srcPath(rel string) string { return m.root + "/" + rel }

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func parentRel(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// owned reports whether the symlink at link, pointing at dest, is one of
// the monitor's own: its target lies inside the storage or image roots.
func (m *Monitor) owned(link, dest string) bool {
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(link), dest)
	} else {
		dest = filepath.Clean(dest)
	}
	for _, r := range m.ownRoots {
		if within(dest, r) {
			return true
		}
	}
	return false
}

func (m *Monitor) isRoot(p string) bool {
	for _, r := range m.ownRoots {
		if p == r {
			return true
		}
	}
	return false
}

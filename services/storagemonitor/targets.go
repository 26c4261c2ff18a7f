package storagemonitor

// Targets: checking each mapped target folder at start (and again when a
// missing one appears) and indexing the routes from storage folders to them.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// prepare resolves the roots and checks every target: a target that is
// missing (or not a folder) is reported and kept pending, to be linked
// once it appears; a target inside the storage is reported and dropped.
func (m *Monitor) prepare() {
	m.resolveRoots()
	order := 0
	for i := range m.opts.Mappings {
		mp := &m.opts.Mappings[i]
		for _, t := range mp.Targets {
			order++
			if err := m.addTarget(mp, t, order); err != nil {
				m.problems = append(m.problems, err)
				m.log.Error().Str("file", mp.File).Str("entry", mp.Entry).Str("path", t).Msg(err.Error())
			}
		}
	}
	m.indexRoutes()
}

func (m *Monitor) resolveRoots() {
	if r, err := filepath.EvalSymlinks(m.root); err == nil {
		m.realRoot = r
	}
	m.ownRoots = []string{m.root}
	if m.realRoot != m.root {
		m.ownRoots = append(m.ownRoots, m.realRoot)
	}
	if m.image != "" {
		m.ownRoots = append(m.ownRoots, m.image)
		m.realImage = ""
		if r, err := filepath.EvalSymlinks(m.image); err == nil && r != m.image {
			m.realImage = r
			m.ownRoots = append(m.ownRoots, r)
		}
	}
}

// addTarget checks one target of mp and makes it a route, or a pending
// target when it does not exist yet. The error says what is wrong.
func (m *Monitor) addTarget(mp *Mapping, target string, order int) error {
	bad := func(err error) error { return &MappingError{File: mp.File, Entry: mp.Entry, Err: err} }
	fi, err := os.Stat(target)
	if err != nil || !fi.IsDir() {
		m.pending = append(m.pending, pendingTarget{m: mp, target: target, order: order})
		if err == nil {
			err = fmt.Errorf("%w: target %s is not a folder", ErrBadTarget, target)
		} else if isNotExist(err) {
			err = fmt.Errorf("%w: %s (storage folder %q); it is linked once it appears (looked for every %s)", ErrMissingTarget, target, mp.Storage, m.opts.RescanInterval)
		} else {
			err = fmt.Errorf("%w: target %s: %v", ErrBadTarget, target, err)
		}
		return bad(err)
	}
	real, err := filepath.EvalSymlinks(target)
	if err != nil {
		real = target
	}
	for _, r := range m.ownRoots {
		if real == r || target == r || within(real, r) || within(target, r) {
			return bad(fmt.Errorf("%w: target %s is inside the storage folder %s; the mapping is skipped", ErrBadTarget, target, r))
		}
	}
	m.routes = append(m.routes, &route{key: mp.Storage, target: target, order: order, m: mp})
	return nil
}

// indexRoutes sorts the routes, indexes them by storage folder and marks
// those whose target is the same as, inside or above another's.
func (m *Monitor) indexRoutes() {
	sort.Slice(m.routes, func(i, j int) bool { return m.routes[i].order < m.routes[j].order })
	m.byKey = map[string][]*route{}
	byTarget := map[string][]*route{}
	for _, r := range m.routes {
		m.byKey[r.key] = append(m.byKey[r.key], r)
		byTarget[r.target] = append(byTarget[r.target], r)
		r.overlap = false
	}
	for t, rs := range byTarget {
		if len(rs) > 1 {
			for _, r := range rs {
				r.overlap = true
			}
		}
		for p := filepath.Dir(t); p != "/"; p = filepath.Dir(p) {
			if above, ok := byTarget[p]; ok {
				for _, r := range above {
					r.overlap = true
				}
				for _, r := range rs {
					r.overlap = true
				}
			}
		}
	}
	m.overlaps = m.overlaps[:0]
	for _, r := range m.routes {
		if r.overlap {
			m.overlaps = append(m.overlaps, r)
		}
	}
}

package storagemonitor

// Targets: checking each mapped target folder at start (and again when a
// missing one appears) and indexing the routes from storage folders to them.

import (
	"fmt"
	"path/filepath"
	"sort"
)

// prepare resolves the roots and checks every target: a missing target
// is made when its parent is there, and otherwise kept pending (a warning,
// not a problem) to be made once its parent appears; a target that is not
// a folder or cannot be made is reported and kept pending; a target
// inside the storage is reported and dropped.
func (m *Monitor) prepare() {
	m.resolveRoots()
	order := 0
	for i := range m.opts.Mappings {
		mp := &m.opts.Mappings[i]
		for _, t := range mp.Targets {
			order++
			if waiting, err := m.checkTarget(mp, t, order, ""); err != nil && !waiting {
				m.problems = append(m.problems, err)
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

// addTarget checks one target of mp and makes it a route. A missing
// target whose parent folder exists is made first (applications are often
// installed without the model folders a mapping names; ai-dock's
// manage-symlinks.sh made them with mkdir -p). A missing target whose
// parent is missing too is kept pending, waiting for the application to
// appear: waiting is then true and err says so, which is normal life and
// not a problem. Any other err says what is wrong with the target; it is
// kept pending too (retried) unless it lies inside the storage.
func (m *Monitor) addTarget(mp *Mapping, target string, order int) (waiting bool, err error) {
	bad := func(err error) error { return &MappingError{File: mp.File, Entry: mp.Entry, Err: err} }
	pend := func() { m.pending = append(m.pending, pendingTarget{m: mp, target: target, order: order}) }
	fi, err := m.fs.Stat(target)
	switch {
	case err == nil && !fi.IsDir():
		pend()
		return false, bad(fmt.Errorf("%w: target %s is not a folder", ErrBadTarget, target))
	case err != nil && !isNotExist(err):
		pend()
		return false, bad(fmt.Errorf("%w: target %s: %v", ErrBadTarget, target, err))
	}
	// Checked before anything is made: a folder must never be made
	// inside the storage on a mapping's behalf.
	if r := m.storageAround(target); r != "" {
		return false, bad(fmt.Errorf("%w: target %s is inside the storage folder %s; the mapping is skipped", ErrBadTarget, target, r))
	}
	if err != nil {
		waiting, err := m.makeTarget(mp, target)
		if err != nil {
			pend()
			return waiting, bad(err)
		}
	}
	m.routes = append(m.routes, &route{key: mp.Storage, target: target, order: order, m: mp})
	return false, nil
}

// checkTarget adds one target (addTarget) and logs its problem, unless
// that is the one last logged for it (last), so that a target retried
// every RescanInterval is not reported every time.
func (m *Monitor) checkTarget(mp *Mapping, target string, order int, last string) (waiting bool, err error) {
	pending := len(m.pending)
	waiting, err = m.addTarget(mp, target, order)
	if err == nil {
		return false, nil
	}
	msg := err.Error()
	if len(m.pending) > pending {
		m.pending[len(m.pending)-1].reported = msg
	}
	if msg != last {
		// at warn while it waits for its application (normal life)
		ev := m.log.Error()
		if waiting {
			ev = m.log.Warn()
		}
		ev.Str("file", mp.File).Str("entry", mp.Entry).Str("path", target).Msg(msg)
	}
	return waiting, err
}

// storageAround returns the storage or image root that target is, or
// lies inside (under its configured or resolved name), or "".
func (m *Monitor) storageAround(target string) string {
	real, err := filepath.EvalSymlinks(target)
	if err != nil {
		// missing: resolve the parent, the part that may be there
		real = target
		if p, err := filepath.EvalSymlinks(filepath.Dir(target)); err == nil {
			real = filepath.Join(p, filepath.Base(target))
		}
	}
	for _, r := range m.ownRoots {
		if real == r || target == r || within(real, r) || within(target, r) {
			return r
		}
	}
	return ""
}

// makeTarget makes the missing target folder when its parent is a
// folder, with the parent's permissions and owner (so the application's
// user can still write there), and logs it. When the parent is missing
// too, nothing is made and waiting is true.
func (m *Monitor) makeTarget(mp *Mapping, target string) (waiting bool, err error) {
	parent := filepath.Dir(target)
	pfi, err := m.fs.Stat(parent)
	switch {
	case isNotExist(err):
		return true, fmt.Errorf("%w: %s (storage folder %q), nor its parent folder %s; it is made and linked once %s appears (looked for every %s)",
			ErrMissingTarget, target, mp.Storage, parent, parent, m.opts.RescanInterval)
	case err != nil:
		return false, fmt.Errorf("%w: target %s cannot be made: its parent folder: %v", ErrBadTarget, target, err)
	case !pfi.IsDir():
		return false, fmt.Errorf("%w: target %s cannot be made: its parent %s is not a folder", ErrBadTarget, target, parent)
	}
	if err := m.fs.Mkdir(target); err != nil {
		// made meanwhile by someone else: as good
		if fi, serr := m.fs.Stat(target); serr != nil || !fi.IsDir() {
			return false, fmt.Errorf("%w: target %s cannot be made: %v", ErrBadTarget, target, err)
		}
		return false, nil
	}
	msg := "made the missing target folder"
	if m.opts.DryRun {
		msg = "the missing target folder would be made"
	}
	m.log.Info().Str("file", mp.File).Str("entry", mp.Entry).Str("path", target).Str("storage", mp.Storage).Msg(msg)
	return false, nil
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

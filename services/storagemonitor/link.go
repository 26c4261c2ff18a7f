package storagemonitor

// Making one link, and reporting what is left alone or failed.

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// link makes t a symlink to src, unless something that is not the
// monitor's own is in the way.
func (m *Monitor) link(r *route, t, src string) {
	if r.overlap {
		if w := m.winner(t); w != src {
			if w != "" {
				m.conflict(t, src, "also mapped from "+w+", which comes first in the mappings")
			}
			return
		}
	}
	// Try first, look after: a new file (the common case) costs one call.
	err := m.fs.Symlink(src, t)
	switch {
	case err == nil:
		m.made(t, src)
	case errors.Is(err, fs.ErrExist):
		m.relink(t, src)
	case isNotExist(err):
		// the folder is missing: the target, or a mirror folder removed
		// since; make it and try again
		parent := filepath.Dir(t)
		if parent == r.target || !within(parent, r.target) {
			m.targetOK(r)
			return
		}
		if !m.targetOK(r) || !m.ensureChain(r.target, parent[len(r.target)+1:]) {
			return
		}
		if err := m.fs.Symlink(src, t); err != nil {
			m.fail(t, "cannot make the link", err)
			return
		}
		m.made(t, src)
	default:
		m.fail(t, "cannot make the link", err)
	}
}

// relink deals with something already at t: a link to src is fine, a
// link of the monitor's own to anything else is replaced, anything else
// is a conflict.
func (m *Monitor) relink(t, src string) {
	fi, err := m.fs.Lstat(t)
	if err != nil {
		m.fail(t, "cannot read the target", err)
		return
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		what := "file"
		if fi.IsDir() {
			what = "folder"
		}
		m.conflict(t, src, "a real "+what+" is in the way; it is left alone")
		return
	}
	dest, err := m.fs.Readlink(t)
	if err != nil {
		m.fail(t, "cannot read the link", err)
		return
	}
	if dest == src {
		return
	}
	if !m.owned(t, dest) {
		m.conflict(t, src, "a symlink to "+dest+" that is not ours is in the way; it is left alone")
		return
	}
	if sameFile(m.fs, t, src) {
		return // an equivalent link (such as the ai-dock images made, to the resolved path)
	}
	if err := m.fs.Remove(t); err != nil {
		m.fail(t, "cannot replace the link", err)
		return
	}
	if err := m.fs.Symlink(src, t); err != nil {
		m.fail(t, "cannot make the link", err)
		return
	}
	m.made(t, src)
}

func (m *Monitor) made(t, src string) {
	m.mu.Lock()
	m.stats.Linked++
	delete(m.reported, t)
	m.mu.Unlock()
	m.log.Debug().Str("link", t).Str("source", src).Msg("linked")
	if m.opts.OnLink != nil {
		m.opts.OnLink(t, src)
	}
}

// conflict reports, once per path, that t is left alone.
func (m *Monitor) conflict(t, src, why string) {
	m.mu.Lock()
	_, done := m.reported[t]
	if !done {
		m.reported[t] = struct{}{}
		m.stats.Conflicts++
	}
	m.mu.Unlock()
	if done {
		return
	}
	ev := m.log.Warn().Str("path", t)
	if src != "" {
		ev = ev.Str("source", src)
	}
	ev.Msg("conflict: " + why)
	if m.opts.DryRun {
		fmt.Fprintf(m.opts.Plan, "conflict %s: %s\n", showPath(t), why)
	}
}

// fail reports, once per path, an operation that failed.
func (m *Monitor) fail(p, what string, err error) {
	m.mu.Lock()
	m.stats.Errors++
	_, done := m.reported[p]
	m.reported[p] = struct{}{}
	m.mu.Unlock()
	if done {
		return
	}
	m.log.Error().Str("path", p).Err(err).Msg(what)
}

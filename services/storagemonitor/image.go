package storagemonitor

// Image storage: the files bundled in the image, linked into the storage
// at start.

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// linkImage links every file of the image storage into the storage.
func (m *Monitor) linkImage() {
	if m.image == "" {
		return
	}
	fi, err := os.Stat(m.image)
	if err != nil {
		if !isNotExist(err) {
			m.fail(m.image, "cannot read the image storage folder", err)
		}
		return
	}
	if st, err := os.Stat(m.realRoot); err == nil && os.SameFile(fi, st) {
		m.log.Debug().Str("path", m.image).Msg("the image storage is the storage folder; nothing to link")
		return
	}
	m.linkImageDir("")
}

func (m *Monitor) linkImageDir(rel string) {
	dir := m.image
	if rel != "" {
		dir += "/" + rel
	}
	entries, err := m.fs.ReadDir(dir)
	if err != nil {
		m.fail(dir, "cannot read the image storage folder", err)
		return
	}
	checked, ready := false, false
	for _, e := range entries {
		name := e.Name()
		crel := joinRel(rel, name)
		if e.IsDir() {
			m.linkImageDir(crel)
			continue
		}
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		if !checked {
			checked, ready = true, m.ensureStorageDir(rel)
		}
		if ready {
			m.linkImageFile(crel)
		}
	}
}

// ensureStorageDir makes the storage folder rel and its parents, which
// may be symlinks to folders (a user's choice inside the storage).
func (m *Monitor) ensureStorageDir(rel string) bool {
	if rel == "" {
		return true
	}
	p := m.realRoot
	for _, part := range strings.Split(rel, "/") {
		p += "/" + part
		fi, err := m.fs.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			m.conflict(p, "", "a file is where a folder of the image storage goes; it is left alone")
			return false
		case isNotExist(err):
			if _, lerr := m.fs.Lstat(p); lerr == nil {
				m.conflict(p, "", "a broken symlink is where a folder of the image storage goes; it is left alone")
				return false
			}
			if err := m.fs.Mkdir(p); err != nil && !errors.Is(err, fs.ErrExist) {
				m.fail(p, "cannot make the storage folder", err)
				return false
			}
			m.log.Debug().Str("path", p).Msg("made folder")
		default:
			m.fail(p, "cannot read the storage folder", err)
			return false
		}
	}
	return true
}

func (m *Monitor) linkImageFile(rel string) {
	dst, src := m.realPath(rel), m.image+"/"+rel
	fi, err := m.fs.Lstat(dst)
	switch {
	case isNotExist(err):
	case err != nil:
		m.fail(dst, "cannot read the storage file", err)
		return
	case fi.Mode()&fs.ModeSymlink == 0:
		m.conflict(dst, src, "a real file of the same name is in the storage; it is kept and the image's file is not linked")
		return
	default:
		dest, err := m.fs.Readlink(dst)
		if err != nil {
			m.fail(dst, "cannot read the link", err)
			return
		}
		if dest == src {
			return
		}
		imageLink := within(dest, m.image) || within(dest, m.realImage)
		if !imageLink {
			m.conflict(dst, src, "a symlink to "+dest+" is in the storage; it is kept and the image's file is not linked")
			return
		}
		if sameFile(m.fs, dst, src) {
			return
		}
		if err := m.fs.Remove(dst); err != nil {
			m.fail(dst, "cannot replace the link", err)
			return
		}
	}
	if err := m.fs.Symlink(src, dst); err != nil {
		m.fail(dst, "cannot link the image file", err)
		return
	}
	m.mu.Lock()
	m.stats.ImageLinked++
	delete(m.reported, dst)
	m.mu.Unlock()
	m.log.Debug().Str("link", dst).Str("source", src).Msg("linked image file into the storage")
}

func sameFile(f fsys, a, b string) bool {
	fa, err := f.Stat(a)
	if err != nil {
		return false
	}
	fb, err := f.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

package gpuprobe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Limits on what gpu-probe reads under the root. A snapshot given with
// --root may hold anything where a sysfs attribute is expected: a FIFO
// (an open would block for ever), a character device such as /dev/zero or
// a huge sparse file (a read would never end, or exhaust memory).
const (
	// maxAttrFile bounds every sysfs and /proc file: sysfs attributes hold
	// at most one page (4 KiB); /proc/driver/nvidia files a few hundred
	// bytes.
	maxAttrFile = 64 << 10
	// maxPCIIDs bounds the pci.ids database, read whole by pcidb: about
	// 1.4 MB in Debian's pci.ids package (decompressed, for pci.ids.gz).
	maxPCIIDs = 64 << 20
)

// rootFS is the root being probed, as an fs.FS whose every open is
// non-blocking and whose reads take only regular files of bounded size.
// It replaces os.DirFS, whose Open blocks on a FIFO and whose ReadFile
// reads until EOF.
type rootFS struct{ dir string }

func (r rootFS) path(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return filepath.Join(r.dir, filepath.FromSlash(name)), nil
}

// relErr names name (relative to the root) in err instead of its full
// path, as os.DirFS does.
func relErr(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return err
}

// Open opens name without blocking (O_NONBLOCK: a FIFO without a writer
// opens at once) and refuses anything but a regular file or a folder.
func (r rootFS) Open(name string) (fs.File, error) {
	p, err := r.path("open", name)
	if err != nil {
		return nil, err
	}
	// Stat first, so that a device node is never opened (opening some has
	// side effects); the fstat below closes the race with a swap.
	if st, err := os.Stat(p); err != nil {
		return nil, relErr(err, name)
	} else if !st.Mode().IsRegular() && !st.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: notRegularError{st.Mode()}}
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, relErr(err, name)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, relErr(err, name)
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: notRegularError{st.Mode()}}
	}
	return f, nil
}

// ReadFile reads a sysfs or /proc file: a regular file of at most
// maxAttrFile bytes.
func (r rootFS) ReadFile(name string) ([]byte, error) {
	return r.readLimited(name, maxAttrFile)
}

// readLimited reads the regular file name whole, failing when it holds
// more than limit bytes. The size is checked while reading, not taken
// from stat: sysfs reports 4096 and /proc 0 whatever the content.
func (r rootFS) readLimited(name string, limit int64) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, relErr(err, name)
	}
	if st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: notRegularError{st.Mode()}}
	}
	if st.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: tooLargeError{limit}}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, relErr(err, name)
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: tooLargeError{limit}}
	}
	return data, nil
}

// ReadDir lists a folder. O_DIRECTORY makes the open fail at once on
// anything else (a FIFO included) instead of blocking.
func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := r.path("readdir", name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, relErr(err, name)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	if err != nil {
		return entries, relErr(err, name)
	}
	return entries, nil
}

// Stat never opens name, so it cannot block.
func (r rootFS) Stat(name string) (fs.FileInfo, error) {
	p, err := r.path("stat", name)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	return st, relErr(err, name)
}

// ReadLink reads the symlink name.
func (r rootFS) ReadLink(name string) (string, error) {
	p, err := r.path("readlink", name)
	if err != nil {
		return "", err
	}
	dest, err := os.Readlink(p)
	return dest, relErr(err, name)
}

// Lstat stats name without following a final symlink.
func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := r.path("lstat", name)
	if err != nil {
		return nil, err
	}
	st, err := os.Lstat(p)
	return st, relErr(err, name)
}

// checkAttrFile reports why name, when present, is not a file that ghw
// may read whole: not a regular file, or larger than maxAttrFile. ghw
// reads some sysfs files itself (os.ReadFile, unbounded, blocking).
func checkAttrFile(fsys fs.FS, name string) error {
	st, err := fs.Stat(fsys, name)
	switch {
	case err != nil:
		return nil // missing or unreadable: ghw copes
	case !st.Mode().IsRegular():
		return fmt.Errorf("/%s: %w", name, notRegularError{st.Mode()})
	case st.Size() > maxAttrFile:
		return fmt.Errorf("/%s: %w", name, tooLargeError{maxAttrFile})
	}
	return nil
}

// notRegularError: a file to read is a FIFO, a device, a socket or a folder.
type notRegularError struct{ mode fs.FileMode }

func (e notRegularError) Error() string {
	kind := "not a plain file"
	switch t := e.mode.Type(); {
	case t&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		kind = "a character device"
	case t&fs.ModeDevice != 0:
		kind = "a block device"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	case t&fs.ModeDir != 0:
		kind = "a folder"
	}
	return "is " + kind + ", not a regular file; not read"
}

// tooLargeError: a file to read holds more than any real one does.
type tooLargeError struct{ limit int64 }

func (e tooLargeError) Error() string {
	return fmt.Sprintf("is larger than %s, more than such a file holds; not read", byteCount(e.limit))
}

func byteCount(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

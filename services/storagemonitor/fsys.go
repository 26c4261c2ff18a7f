package storagemonitor

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

var errNotDir = syscall.ENOTDIR

// fsys is the file system as the monitor changes it: the real one, or a
// dry run that prints each change instead and remembers it, so that the
// rest of the pass sees the planned state.
type fsys interface {
	Lstat(name string) (fs.FileInfo, error)
	Stat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Symlink(oldname, newname string) error
	Remove(name string) error
	// Mkdir makes a folder with the permissions of its parent and, when
	// running as root, the parent's owner, so that a folder made inside
	// an application's folder stays writable by the application's user.
	Mkdir(name string) error
}

type osFS struct{ root bool }

func (osFS) Lstat(name string) (fs.FileInfo, error)     { return os.Lstat(name) }
func (osFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFS) Readlink(name string) (string, error)       { return os.Readlink(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return readDirUnsorted(name) }
func (osFS) Symlink(oldname, newname string) error      { return os.Symlink(oldname, newname) }
func (osFS) Remove(name string) error                   { return os.Remove(name) }

func (o osFS) Mkdir(name string) error {
	parent, err := os.Stat(filepath.Dir(name))
	if err != nil {
		return err
	}
	if err := os.Mkdir(name, parent.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := parent.Sys().(*syscall.Stat_t); ok && o.root && (st.Uid != 0 || st.Gid != 0) {
		if err := os.Lchown(name, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}

// readDirUnsorted is os.ReadDir without the sort: the order does not
// matter to a walk, and large folders are common in storage.
func readDirUnsorted(name string) ([]fs.DirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// dryFS plans changes: each one is printed to out, one line each, and
// recorded so that later reads see it.
type dryFS struct {
	real     osFS
	out      io.Writer
	nodes    map[string]*dryNode
	removed  map[string]bool
	children map[string][]string
}

type dryNode struct {
	dir  bool
	link string
}

func newDryFS(out io.Writer) *dryFS {
	return &dryFS{out: out, nodes: map[string]*dryNode{}, removed: map[string]bool{}, children: map[string][]string{}}
}

func (d *dryFS) Lstat(name string) (fs.FileInfo, error) {
	if d.removed[name] {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	if n := d.nodes[name]; n != nil {
		return dryInfo{name: filepath.Base(name), node: n}, nil
	}
	return d.real.Lstat(name)
}

func (d *dryFS) Stat(name string) (fs.FileInfo, error) {
	for range 40 {
		if d.removed[name] {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
		}
		n := d.nodes[name]
		if n == nil {
			return d.real.Stat(name)
		}
		if n.dir {
			return dryInfo{name: filepath.Base(name), node: n}, nil
		}
		if filepath.IsAbs(n.link) {
			name = n.link
		} else {
			name = filepath.Join(filepath.Dir(name), n.link)
		}
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: syscall.ELOOP}
}

func (d *dryFS) Readlink(name string) (string, error) {
	if n := d.nodes[name]; n != nil && !d.removed[name] {
		if n.dir {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: syscall.EINVAL}
		}
		return n.link, nil
	}
	return d.real.Readlink(name)
}

func (d *dryFS) ReadDir(name string) ([]fs.DirEntry, error) {
	var entries []fs.DirEntry
	real, err := d.real.ReadDir(name)
	if err != nil && (d.nodes[name] == nil || !isNotExist(err)) {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range real {
		p := filepath.Join(name, e.Name())
		if d.removed[p] || d.nodes[p] != nil {
			continue
		}
		have[e.Name()] = true
		entries = append(entries, e)
	}
	for _, c := range d.children[name] {
		p := filepath.Join(name, c)
		if n := d.nodes[p]; n != nil && !have[c] {
			have[c] = true
			entries = append(entries, fs.FileInfoToDirEntry(dryInfo{name: c, node: n}))
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

func (d *dryFS) add(name string, n *dryNode) {
	delete(d.removed, name)
	if d.nodes[name] == nil {
		dir := filepath.Dir(name)
		d.children[dir] = append(d.children[dir], filepath.Base(name))
	}
	d.nodes[name] = n
}

// creatable mimics the checks the kernel makes before creating name.
func (d *dryFS) creatable(op, name string) error {
	if _, err := d.Lstat(name); err == nil {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrExist}
	}
	if fi, err := d.Stat(filepath.Dir(name)); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	} else if !fi.IsDir() {
		return &fs.PathError{Op: op, Path: name, Err: syscall.ENOTDIR}
	}
	return nil
}

func (d *dryFS) Symlink(oldname, newname string) error {
	if err := d.creatable("symlink", newname); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "link %s -> %s\n", showPath(newname), showPath(oldname))
	d.add(newname, &dryNode{link: oldname})
	return nil
}

func (d *dryFS) Remove(name string) error {
	fmt.Fprintf(d.out, "unlink %s\n", showPath(name))
	delete(d.nodes, name)
	d.removed[name] = true
	return nil
}

func (d *dryFS) Mkdir(name string) error {
	if err := d.creatable("mkdir", name); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "mkdir %s\n", showPath(name))
	d.add(name, &dryNode{dir: true})
	return nil
}

type dryInfo struct {
	name string
	node *dryNode
}

func (i dryInfo) Name() string { return i.name }
func (i dryInfo) Size() int64  { return 0 }
func (i dryInfo) Mode() fs.FileMode {
	if i.node.dir {
		return fs.ModeDir | 0o755
	}
	return fs.ModeSymlink | 0o777
}
func (i dryInfo) ModTime() time.Time { return time.Time{} }
func (i dryInfo) IsDir() bool        { return i.node.dir }
func (i dryInfo) Sys() any           { return nil }

// showPath writes a path for a person: as is, or Go-quoted when it holds
// control characters (a newline in a name) or blanks at either end.
func showPath(p string) string {
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(p)
		}
	}
	if p != "" && (p[0] == ' ' || p[len(p)-1] == ' ') {
		return strconv.Quote(p)
	}
	return p
}

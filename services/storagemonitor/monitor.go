// Package storagemonitor mirrors the files of the workspace storage
// folder ($WORKSPACE/storage) into application folders as symlinks,
// following a mappings file, and keeps the links up to date while files
// come and go.
//
// A mapping sends one storage folder to one or more target folders:
// storage/<folder>/<sub>/file is linked as <target>/<sub>/file, a symlink
// to the storage file. Sub-folders are mirrored as real folders in the
// target (made with the permissions and, as root, the owner of their
// parent) with file symlinks inside, so an application's own files and
// folders of the same names sit next to the linked ones.
//
// Ownership rule: a symlink is the monitor's own if its target (read with
// readlink, made absolute) lies inside the storage root or the image
// storage root, under the configured name or the resolved one. Only such
// links are ever replaced or removed, and only when they no longer point
// at an existing file (or, for replacement, at a different file than the
// mapping wants). Real files, real folders and symlinks pointing anywhere
// else are never touched: they are reported once as conflicts.
package storagemonitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for Options.
const (
	DefaultRescanInterval = 30 * time.Second
	DefaultStorageRetry   = 5 * time.Second
	summaryDelay          = 10 * time.Second
)

// ErrIncomplete is returned by Once when the pass ran but something
// could not be done: a mapping was skipped or a link could not be made.
var ErrIncomplete = errors.New("the pass finished with errors")

// Options configure a Monitor.
type Options struct {
	// Storage is the storage root ($WORKSPACE/storage). It may be a
	// symlink. It is created when missing.
	Storage string
	// ImageStorage holds files bundled in the image (/opt/storage); each
	// is linked into Storage at start. "" skips this step.
	ImageStorage string
	// Mappings, in priority order: when two mappings would link different
	// storage files at the same target path, the earlier one wins.
	Mappings []Mapping
	// Log receives one debug line per link made or removed, info
	// summaries, warnings for conflicts and errors with their path.
	Log zerolog.Logger
	// DryRun changes nothing: each change is printed to Plan instead.
	DryRun bool
	Plan   io.Writer
	// NewWatcher makes the file watcher; nil means fsnotify.
	NewWatcher func() (Watcher, error)
	// RescanInterval is how often folders that could not be watched (the
	// inotify limit) are re-scanned, and missing target folders looked
	// for again. 0 means DefaultRescanInterval.
	RescanInterval time.Duration
	// StorageRetry is how often a storage folder that cannot be created
	// is tried again. 0 means DefaultStorageRetry.
	StorageRetry time.Duration
	// ProcRoot is where /proc is (for fs.inotify.max_user_watches); ""
	// means /proc.
	ProcRoot string
	// OnLink, when set, is called after each link is made (benchmarks).
	OnLink func(target, source string)
}

// Stats count what a Monitor did.
type Stats struct {
	Files       int // storage files seen by full walks
	Folders     int // storage folders seen by full walks
	Linked      int // links made (or replaced)
	Removed     int // stale links removed
	ImageLinked int // image files linked into the storage
	Conflicts   int // distinct paths left alone because something else was there
	Errors      int // operations that failed
}

// Monitor links storage files into target folders. Its methods must be
// called from one goroutine; Run owns it until it returns.
type Monitor struct {
	opts Options
	log  zerolog.Logger
	fs   fsys
	ctx  context.Context

	root, realRoot   string // the storage root as configured, and resolved
	image, realImage string
	ownRoots         []string

	routes   []*route            // every active (mapping, target), in priority order
	overlaps []*route            // the routes whose target overlaps another's
	byKey    map[string][]*route // routes by storage folder
	pending  []pendingTarget     // targets that do not exist yet
	problems []error

	// mu guards stats and reported, which link workers update too.
	mu       sync.Mutex
	reported map[string]struct{} // paths whose conflict or error was logged
	stats    Stats
	work     *workers // link workers; nil: links are made inline

	watcher   Watcher
	watched   map[string]struct{} // storage folders (relative) with a watch
	unwatched map[string]struct{} // storage folders whose watch failed
	limitErr  error               // the first watch failure since all were watched
	rootLost  bool
}

type route struct {
	key, target string
	order       int
	overlap     bool
	m           *Mapping
}

type pendingTarget struct {
	m      *Mapping
	target string
	order  int
}

type mirror struct {
	r   *route
	dir string // the target folder that mirrors the storage folder at hand
}

// New returns a Monitor for opts. Nothing is read or changed until Once
// or Run.
func New(opts Options) (*Monitor, error) {
	if opts.Storage == "" {
		return nil, errors.New("storagemonitor: no storage folder given")
	}
	root, err := filepath.Abs(opts.Storage)
	if err != nil {
		return nil, fmt.Errorf("storagemonitor: storage folder %q: %w", opts.Storage, err)
	}
	m := &Monitor{
		opts: opts, log: opts.Log, root: root, realRoot: root,
		byKey: map[string][]*route{}, reported: map[string]struct{}{},
		watched: map[string]struct{}{}, unwatched: map[string]struct{}{},
	}
	if opts.ImageStorage != "" {
		if m.image, err = filepath.Abs(opts.ImageStorage); err != nil {
			return nil, fmt.Errorf("storagemonitor: image storage folder %q: %w", opts.ImageStorage, err)
		}
	}
	if m.opts.RescanInterval <= 0 {
		m.opts.RescanInterval = DefaultRescanInterval
	}
	if m.opts.StorageRetry <= 0 {
		m.opts.StorageRetry = DefaultStorageRetry
	}
	if m.opts.ProcRoot == "" {
		m.opts.ProcRoot = "/proc"
	}
	if opts.DryRun {
		out := opts.Plan
		if out == nil {
			out = io.Discard
		}
		m.fs = newDryFS(out)
	} else {
		m.fs = osFS{root: os.Geteuid() == 0}
	}
	return m, nil
}

// Stats returns the counts so far.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// forget clears the once-only report of path p.
func (m *Monitor) forget(p string) {
	m.mu.Lock()
	delete(m.reported, p)
	m.mu.Unlock()
}

// Once makes the storage folder if needed, links the image storage,
// removes stale links of the monitor's own in the target folders and
// makes every mapped link, then returns. It returns an error wrapping
// ErrIncomplete when a mapping was skipped or an operation failed (each
// was logged). A Monitor runs once: Once or Run, not both.
func (m *Monitor) Once(ctx context.Context) error {
	m.ctx = ctx
	if err := m.ensureStorage(ctx, false); err != nil {
		return err
	}
	m.prepare()
	m.startWorkers()
	m.startupPass()
	m.stopWorkers()
	if n := len(m.problems) + m.Stats().Errors; n > 0 {
		return fmt.Errorf("%w: %d problem(s); see the log", ErrIncomplete, n)
	}
	return nil
}

// Run does what Once does, watching the storage tree from the start, and
// then keeps the links up to date until ctx is done. Problems are logged
// and never stop it; it returns nil when ctx is done.
func (m *Monitor) Run(ctx context.Context) error {
	m.ctx = ctx
	if err := m.ensureStorage(ctx, true); err != nil {
		return nil // ctx is done
	}
	m.prepare()
	m.resetWatcher()
	m.startWorkers()
	defer func() {
		m.stopWorkers()
		if m.watcher != nil {
			m.watcher.Close()
		}
	}()
	m.startupPass()
	// The pass over a large tree leaves garbage that would otherwise stay
	// in the resident set of this long-running process for minutes.
	debug.FreeOSMemory()
	return m.loop(ctx)
}

// ensureStorage makes the storage folder when it is missing. When it
// cannot be made and wait is set, it logs why and tries again every
// StorageRetry until it can or ctx is done.
func (m *Monitor) ensureStorage(ctx context.Context, wait bool) error {
	if fi, err := os.Stat(m.root); err == nil && fi.IsDir() {
		return nil
	}
	if m.opts.DryRun {
		var missing []string
		for p := m.root; p != "/"; p = filepath.Dir(p) {
			if _, err := os.Lstat(p); err == nil {
				break
			}
			missing = append(missing, p)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			m.fs.Mkdir(missing[i])
		}
		return nil
	}
	err := os.MkdirAll(m.root, 0o755)
	if err == nil {
		m.log.Info().Str("path", m.root).Msg("created the storage folder")
		return nil
	}
	if !wait {
		return fmt.Errorf("storage folder %s cannot be created: %w", m.root, err)
	}
	m.log.Warn().Str("path", m.root).Err(err).Msgf("the storage folder cannot be created; trying again every %s until it can", m.opts.StorageRetry)
	t := time.NewTicker(m.opts.StorageRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := os.MkdirAll(m.root, 0o755); err == nil {
			m.log.Info().Str("path", m.root).Msg("the storage folder is there now")
			return nil
		}
	}
}

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

func (m *Monitor) isRoot(p string) bool {
	for _, r := range m.ownRoots {
		if p == r {
			return true
		}
	}
	return false
}

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

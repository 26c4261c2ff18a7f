// Package storagemonitor mirrors the files of the workspace storage
// folder ($WORKSPACE/storage) into application folders as symlinks,
// following a mappings file, and keeps the links up to date while files
// come and go.
//
// A target folder that does not exist is made when its parent folder
// exists (the application is installed, its model folder not yet), and
// otherwise waited for: it is made and linked once its parent appears.
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
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
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
// Conflicts (something not ours where a link would go) and targets that
// wait for their application to be installed are not such problems.
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
	m        *Mapping
	target   string
	order    int
	reported string // the problem last logged for it
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

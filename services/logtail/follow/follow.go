// Package follow follows log files by name, as `tail -F` does, and hands
// their content over line by line.
//
// A set of paths and globs (glob characters in the file name only) is
// followed; files that appear later are picked up (their folders are
// watched with fsnotify, and re-scanned every Options.Rescan as a safety
// net). A file that exists when following starts begins with its last
// Options.Lines lines; a file that appears later is read from its start.
//
// What survives, and what cannot:
//
//   - Rotation by rename (x.log → x.log.1, new x.log) and deletion followed
//     by re-creation lose nothing and repeat nothing: the old file stays
//     open, is read to its end once the new file exists, and only then is
//     the new file read, from its start. Writes to the old file after the
//     new one exists are lost (the writer should have switched); a deleted
//     file that nothing replaces is read as long as it grows, and closed
//     once it has not grown for DeletedIdle.
//   - Truncation in place (and the truncation of copy-truncate) is noticed
//     when the file is shorter than what was read, or when the last bytes
//     read before the offset have changed (a file truncated and written
//     past the old offset before it was looked at). A Truncated event is
//     sent and the file is read again from its start. Bytes written after
//     the follower's last read and before the truncation are lost to any
//     follower: only a rotator that waits for the follower before it
//     truncates makes copy-truncate exact.
//   - A file seen under two names (a glob that matches both x.log and its
//     rotated x.log.1) is read once: a rotated file picked up under its new
//     name resumes where it was left. A copy (copy-truncate's x.log.1) is
//     another file, and is read as one if a pattern matches it.
//   - A file must live long enough to be opened: one created and rotated
//     away again before the follower looks at its folder (normally within
//     milliseconds; longer under a flood of writes) is never read, as with
//     anything that follows by name.
//   - A followed path that is a symbolic link to a file in a folder that is
//     not watched is only looked at every Options.Rescan.
//
// Lines are delivered without their newline. A line whose newline has not
// come after Options.FlushAfter is delivered in pieces (Partial events;
// Options.Hold may keep back its end), and the unfinished end of a file
// that is replaced, truncated or closed is delivered as a Cut event.
package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Kind says what an Event carries.
type Kind int

const (
	// Line is a complete line (its newline has been read).
	Line Kind = iota + 1
	// Partial is the beginning of a line whose newline has not come within
	// Options.FlushAfter (or that is longer than Options.MaxLine); the rest
	// follows in later events.
	Partial
	// Cut is the end of a line that will never get its newline: the file
	// was replaced or truncated, or following stopped.
	Cut
	// Truncated says the file was truncated; it is read again from its
	// start.
	Truncated
	// Error says a path or folder cannot be followed (Err says why). It is
	// sent once until the error changes or the path recovers.
	Error
	// Idle says everything available has been delivered and the follower
	// is about to wait: a good moment to flush buffered output. The first
	// Idle is always sent, once the files found at start have been read
	// to their end.
	Idle
)

func (k Kind) String() string {
	switch k {
	case Line:
		return "line"
	case Partial:
		return "partial"
	case Cut:
		return "cut"
	case Truncated:
		return "truncated"
	case Error:
		return "error"
	case Idle:
		return "idle"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is what the follower hands over. Text is only valid during the
// call that receives it.
type Event struct {
	Kind Kind
	// Path is the name the file is followed under (empty for Idle).
	Path string
	// Text is the line without its newline (Line, Partial, Cut).
	Text []byte
	// Err is set for Error.
	Err error
}

// Defaults of Options.
const (
	DefaultFlushAfter = time.Second
	DefaultRescan     = time.Second
	DefaultMaxLine    = 256 << 10
	// DeletedIdle is how long a deleted file that nothing replaced is kept
	// open after it last grew, so that its disk space can be freed.
	DeletedIdle = 30 * time.Second
)

// Options tune a follower. The zero value is usable.
type Options struct {
	// Lines is how many lines of history of each file that exists at start
	// are delivered first: 0 none, below 0 the whole file.
	Lines int
	// FlushAfter is how long the beginning of an unfinished line is held
	// before it is delivered as a Partial event: 0 means
	// DefaultFlushAfter, below 0 never.
	FlushAfter time.Duration
	// Rescan is how often the globs are expanded again and every file is
	// checked, in case an fsnotify event was missed or a folder could not
	// be watched: 0 means DefaultRescan.
	Rescan time.Duration
	// MaxLine is the longest line delivered whole; longer lines arrive in
	// Partial pieces. 0 means DefaultMaxLine.
	MaxLine int
	// Hold, when set, is asked how many bytes at the end of an unfinished
	// line to keep back when its beginning is delivered as a Partial event
	// (for example the beginning of a secret that the next write may
	// complete). The kept bytes start the next piece.
	Hold func(partial []byte) int
	// Skip, when set, excludes paths that match a pattern (for example the
	// follower's own output file).
	Skip func(path string) bool
}

// ErrPattern is wrapped by the error Follow returns for a pattern it
// cannot follow.
var ErrPattern = errors.New("bad pattern")

// Follow follows the files named by patterns until ctx is done, handing
// every event to emit from the calling goroutine. At the end the
// unfinished lines are delivered as Cut events, an Idle event is sent and
// every file is closed. It returns an error only for a pattern it cannot
// follow; files that are missing or unreadable are waited for and reported
// as Error events.
func Follow(ctx context.Context, patterns []string, opts Options, emit func(Event)) error {
	pats, err := parsePatterns(patterns)
	if err != nil {
		return err
	}
	fl := newFollower(pats, opts, emit)
	defer fl.closeAll()

	var events <-chan fsnotify.Event
	var werrs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		fl.report("", fmt.Errorf("watching folders: %w (checking every %s instead)", err, fl.opts.Rescan))
	} else {
		fl.w = w
		defer w.Close()
		events, werrs = w.Events, w.Errors
	}
	fl.watchDirs()
	fl.scan(true)
	fl.emitted = true // the first Idle says the history has been delivered

	ticker := time.NewTicker(fl.opts.Rescan)
	defer ticker.Stop()
	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	defer flushTimer.Stop()
	ready := make(chan struct{})
	close(ready)

	for {
		busy := fl.round()
		if !busy {
			fl.idle()
		}
		fl.armFlush(flushTimer)
		var more <-chan struct{}
		if busy {
			more = ready
		}
		select {
		case <-ctx.Done():
			fl.finish()
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			fl.event(ev)
			fl.moreEvents(events)
		case err, ok := <-werrs:
			if !ok {
				werrs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				fl.scan(false) // events were lost: look at everything
			} else {
				fl.report("", fmt.Errorf("watching folders: %w", err))
			}
		case <-ticker.C:
			fl.watchDirs()
			fl.scan(false)
			fl.closeDeleted()
		case <-flushTimer.C:
			fl.flushStale()
		case <-more:
		}
	}
}

// pattern is one path or glob; dir is its folder (watched), base its file
// name part (a glob or a literal name).
type pattern struct {
	path, dir, base string
	glob            bool
}

func parsePatterns(patterns []string) ([]pattern, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("following files: no paths given: %w", ErrPattern)
	}
	var pats []pattern
	seen := map[string]bool{}
	for _, p := range patterns {
		if p == "" {
			return nil, fmt.Errorf("following files: empty path: %w", ErrPattern)
		}
		clean := filepath.Clean(p)
		dir, base := filepath.Split(clean)
		dir = filepath.Clean(dir)
		if hasMeta(dir) {
			return nil, fmt.Errorf("following %q: glob characters are only supported in the file name, not in the folder %q: %w", p, dir, ErrPattern)
		}
		if _, err := filepath.Match(base, ""); err != nil {
			return nil, fmt.Errorf("following %q: %v: %w", p, err, ErrPattern)
		}
		if base == "" || base == "." || base == ".." || base == string(filepath.Separator) {
			return nil, fmt.Errorf("following %q: not a file name: %w", p, ErrPattern)
		}
		if seen[clean] {
			continue
		}
		seen[clean] = true
		pats = append(pats, pattern{path: clean, dir: dir, base: base, glob: hasMeta(base)})
	}
	return pats, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// fileID is a file's identity: device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(st fs.FileInfo) (fileID, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(sys.Dev), ino: uint64(sys.Ino)}, true //nolint:unconvert // types differ per platform
}

// anchorLen is how many bytes before the read offset are compared on
// every read to notice a file truncated and rewritten past the offset.
const anchorLen = 64

// file is one open file being followed.
type file struct {
	id     fileID
	f      *os.File
	path   string // the name it is followed under
	off    int64
	anchor []byte // the last bytes before off, as read
	pend   []byte // the unfinished line
	// pendSince is when the unflushed bytes of pend arrived (zero: none).
	pendSince  time.Time
	dirty      bool
	lastGrowth time.Time
}

// retired is where a closed file was left, so that it resumes there if it
// shows up again under another name.
type retired struct {
	off    int64
	anchor []byte
	at     time.Time
}

const maxRetired = 64

type follower struct {
	opts  Options
	emit  func(Event)
	pats  []pattern
	w     *fsnotify.Watcher
	dirs  map[string]bool // folder → watched
	paths map[string]*file
	byID  map[fileID]*file
	// waiters are paths found pointing at a file followed under another
	// name; they are looked at again when that file is released.
	waiters map[fileID][]string
	retired map[fileID]retired
	errs    map[string]string
	dirty   []*file
	buf     []byte
	emitted bool
}

func newFollower(pats []pattern, opts Options, emit func(Event)) *follower {
	if opts.FlushAfter == 0 {
		opts.FlushAfter = DefaultFlushAfter
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	fl := &follower{
		opts:    opts,
		emit:    emit,
		pats:    pats,
		dirs:    map[string]bool{},
		paths:   map[string]*file{},
		byID:    map[fileID]*file{},
		waiters: map[fileID][]string{},
		retired: map[fileID]retired{},
		errs:    map[string]string{},
		buf:     make([]byte, anchorLen+readChunk),
	}
	for _, p := range pats {
		fl.dirs[p.dir] = false
	}
	return fl
}

func (fl *follower) send(e Event) {
	fl.emitted = true
	fl.emit(e)
}

// report sends an Error event for key unless the same error was reported
// last time.
func (fl *follower) report(key string, err error) {
	msg := err.Error()
	if fl.errs[key] == msg {
		return
	}
	fl.errs[key] = msg
	fl.send(Event{Kind: Error, Path: key, Err: err})
}

func (fl *follower) clearError(key string) { delete(fl.errs, key) }

// watchDirs adds a watch on every folder not yet watched. A folder that
// does not exist yet is tried again at the next rescan.
func (fl *follower) watchDirs() {
	if fl.w == nil {
		return
	}
	for dir, watched := range fl.dirs {
		if watched {
			continue
		}
		if err := fl.w.Add(dir); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				fl.report(dir, fmt.Errorf("watching %s: %w", dir, err))
			}
			continue
		}
		fl.dirs[dir] = true
		fl.clearError(dir)
	}
}

// scan expands every pattern and looks at each path found, and at every
// path already followed.
func (fl *follower) scan(initial bool) {
	for _, p := range fl.pats {
		if !p.glob {
			if !fl.skip(p.path) {
				fl.bind(p.path, initial)
			}
			continue
		}
		matches, err := filepath.Glob(p.path)
		if err != nil {
			fl.report(p.path, fmt.Errorf("expanding %s: %w", p.path, err))
			continue
		}
		for _, m := range matches {
			if !fl.skip(m) {
				fl.bind(m, initial)
			}
		}
	}
	for path := range fl.paths {
		fl.bind(path, false)
	}
	for _, f := range fl.byID {
		fl.markDirty(f)
	}
}

func (fl *follower) skip(path string) bool { return fl.opts.Skip != nil && fl.opts.Skip(path) }

// matches reports whether path (as fsnotify names it) is one to follow.
func (fl *follower) matches(path string) bool {
	dir, base := filepath.Dir(path), filepath.Base(path)
	for _, p := range fl.pats {
		if p.dir != dir {
			continue
		}
		if p.glob {
			if ok, _ := filepath.Match(p.base, base); ok {
				return !fl.skip(path)
			}
		} else if p.base == base {
			return !fl.skip(path)
		}
	}
	return false
}

func (fl *follower) event(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	if _, isDir := fl.dirs[name]; isDir && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		fl.dirs[name] = false // the watch is gone; re-added at the next rescan
		return
	}
	if ev.Op == fsnotify.Write {
		if f := fl.paths[name]; f != nil {
			fl.markDirty(f)
			return
		}
	}
	if fl.matches(name) {
		fl.bind(name, false)
	}
}

// maxEventBatch bounds how many queued events are taken at once.
const maxEventBatch = 4096

// moreEvents takes the events already queued, so that under a flood of
// writes a creation or a rename is seen without waiting for a round of
// reads per event.
func (fl *follower) moreEvents(events <-chan fsnotify.Event) {
	for range maxEventBatch {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			fl.event(ev)
		default:
			return
		}
	}
}

func (fl *follower) markDirty(f *file) {
	if !f.dirty {
		f.dirty = true
		fl.dirty = append(fl.dirty, f)
	}
}

// bind looks at what path names now and follows it: the same file is read
// on; a new file replaces the old one (read to its end first); a file
// already followed under another name is left with that name.
func (fl *follower) bind(path string, initial bool) {
	cur := fl.paths[path]
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fl.clearError(path)
			if cur != nil {
				fl.markDirty(cur) // deleted or renamed away: keep reading it
			}
			return
		}
		fl.report(path, fmt.Errorf("following %s: %w", path, err))
		return
	}
	if !st.Mode().IsRegular() {
		fl.report(path, fmt.Errorf("following %s: not a regular file", path))
		return
	}
	id, ok := idOf(st)
	if !ok {
		fl.report(path, fmt.Errorf("following %s: no inode", path))
		return
	}
	if cur != nil && cur.id == id {
		fl.markDirty(cur)
		return
	}
	if other := fl.byID[id]; other != nil {
		// Renamed here from other.path, which still follows it (until its
		// own name gets a new file).
		if !contains(fl.waiters[id], path) {
			fl.waiters[id] = append(fl.waiters[id], path)
		}
		fl.markDirty(other)
		return
	}
	f, err := fl.open(path, initial)
	if err != nil {
		fl.report(path, err)
		return
	}
	fl.clearError(path)
	if cur != nil && cur.id == f.id {
		f.f.Close() // the name went back to the file followed
		fl.markDirty(cur)
		return
	}
	if other := fl.byID[f.id]; other != nil {
		f.f.Close() // changed between stat and open to a file followed elsewhere
		fl.markDirty(other)
		return
	}
	if cur != nil {
		fl.drain(cur)
		fl.release(cur)
	}
	delete(fl.retired, f.id)
	fl.paths[path] = f
	fl.byID[f.id] = f
	fl.markDirty(f)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// open opens path and decides where reading starts: the last Lines lines
// for a file found at start, where it was left for a file seen before under
// another name, its beginning otherwise.
func (fl *follower) open(path string, initial bool) (*file, error) {
	fd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("following %s: %w", path, err)
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("following %s: %w", path, err)
	}
	id, ok := idOf(st)
	if !st.Mode().IsRegular() || !ok {
		fd.Close()
		return nil, fmt.Errorf("following %s: not a regular file", path)
	}
	f := &file{id: id, f: fd, path: path, lastGrowth: time.Now()}
	switch {
	case initial:
		f.off, err = startOffset(fd, st.Size(), fl.opts.Lines)
		if err != nil {
			fd.Close()
			return nil, fmt.Errorf("following %s: %w", path, err)
		}
	default:
		if r, ok := fl.retired[id]; ok {
			if fl.anchorMatches(fd, r.off, r.anchor) {
				f.off, f.anchor = r.off, r.anchor
			}
		}
	}
	if f.off > 0 && f.anchor == nil {
		k := min(f.off, anchorLen)
		a := make([]byte, k)
		if n, err := fd.ReadAt(a, f.off-k); err == nil || n == len(a) {
			f.anchor = a
		} else {
			f.off = 0
		}
	}
	return f, nil
}

func (fl *follower) anchorMatches(fd *os.File, off int64, anchor []byte) bool {
	if off < int64(len(anchor)) {
		return false
	}
	b := make([]byte, len(anchor))
	n, err := fd.ReadAt(b, off-int64(len(anchor)))
	if err != nil && n < len(b) {
		return false
	}
	return bytes.Equal(b, anchor)
}

// maxHistory bounds how far back the search for the last lines goes.
const maxHistory = 8 << 20

// startOffset returns where the last n lines of a file of the given size
// begin (a last line without its newline counts as a line).
func startOffset(fd *os.File, size int64, n int) (int64, error) {
	switch {
	case n < 0:
		return 0, nil
	case n == 0 || size == 0:
		return size, nil
	}
	end := size
	last := make([]byte, 1)
	if _, err := fd.ReadAt(last, size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		end-- // the newline of the last line
	}
	buf := make([]byte, 64<<10)
	floor := max(size-maxHistory, 0)
	lowest := int64(-1) // the earliest newline seen
	pos := end
	for pos > floor {
		chunk := min(int64(len(buf)), pos-floor)
		b := buf[:chunk]
		if _, err := fd.ReadAt(b, pos-chunk); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == '\n' {
				lowest = pos - chunk + int64(i)
				n--
				if n == 0 {
					return lowest + 1, nil
				}
			}
		}
		pos -= chunk
	}
	switch {
	case floor == 0:
		return 0, nil
	case lowest >= 0:
		// Too far back: start at the first line that begins inside the
		// window.
		return lowest + 1, nil
	}
	return floor, nil
}

// readChunk is the size of one read; readBudget bounds what one file gets
// per round so that a file written without pause cannot starve the others.
const (
	readChunk  = 128 << 10
	readBudget = 1 << 20
)

// round reads every dirty file once (up to readBudget each) and reports
// whether some are still dirty.
func (fl *follower) round() bool {
	if len(fl.dirty) == 0 {
		return false
	}
	batch := fl.dirty
	fl.dirty = nil
	for _, f := range batch {
		f.dirty = false
		if fl.byID[f.id] != f {
			continue // released meanwhile
		}
		if fl.read(f, readBudget) {
			fl.markDirty(f)
		}
	}
	return len(fl.dirty) > 0
}

// maxDrain bounds how much of a replaced file is read after its
// replacement appeared, in case its writer never switches.
const maxDrain = 64 << 20

// drain reads f to its end (at most maxDrain).
func (fl *follower) drain(f *file) {
	for i := 0; i < maxDrain/readBudget && fl.read(f, readBudget); i++ {
	}
}

// read reads what f has beyond its offset, up to budget bytes, and reports
// whether more may be there.
func (fl *follower) read(f *file, budget int) bool {
	for budget > 0 {
		k := len(f.anchor)
		n, err := f.f.ReadAt(fl.buf[:k+readChunk], f.off-int64(k))
		if err != nil && !errors.Is(err, io.EOF) {
			fl.report(f.path, fmt.Errorf("reading %s: %w", f.path, err))
			return false
		}
		if n < k || !bytes.Equal(fl.buf[:k], f.anchor) {
			fl.truncated(f)
			continue
		}
		data := fl.buf[k:n]
		if len(data) == 0 {
			return false
		}
		f.lastGrowth = time.Now()
		fl.consume(f, data)
		f.off += int64(len(data))
		a := fl.buf[max(0, n-anchorLen):n]
		f.anchor = append(f.anchor[:0], a...)
		budget -= len(data)
		if n < k+readChunk {
			return false // a short read: at the end for now
		}
	}
	return true
}

func (fl *follower) truncated(f *file) {
	fl.cut(f)
	f.off, f.anchor = 0, f.anchor[:0]
	fl.send(Event{Kind: Truncated, Path: f.path})
}

// consume splits data into lines.
func (fl *follower) consume(f *file, data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if f.pendSince.IsZero() {
				f.pendSince = time.Now()
			}
			f.pend = append(f.pend, data...)
			for len(f.pend) >= fl.opts.MaxLine && fl.flushPartial(f) {
			}
			return
		}
		switch {
		case len(f.pend) == 0 && i <= fl.opts.MaxLine:
			fl.send(Event{Kind: Line, Path: f.path, Text: data[:i]})
		default:
			f.pend = append(f.pend, data[:i]...)
			for len(f.pend) > fl.opts.MaxLine && fl.flushPartial(f) {
			}
			fl.send(Event{Kind: Line, Path: f.path, Text: f.pend})
			fl.resetPend(f)
		}
		data = data[i+1:]
	}
}

func (fl *follower) resetPend(f *file) {
	if cap(f.pend) > 4*readChunk {
		f.pend = nil
	} else {
		f.pend = f.pend[:0]
	}
	f.pendSince = time.Time{}
}

// flushPartial delivers the beginning of f's unfinished line (at most
// MaxLine bytes), less what Options.Hold keeps back, and reports whether
// anything was delivered.
func (fl *follower) flushPartial(f *file) bool {
	piece := f.pend[:min(len(f.pend), fl.opts.MaxLine)]
	n := len(piece)
	if fl.opts.Hold != nil {
		n -= min(max(fl.opts.Hold(piece), 0), n)
	}
	f.pendSince = time.Time{} // held bytes wait for more data
	if n == 0 {
		return false
	}
	fl.send(Event{Kind: Partial, Path: f.path, Text: f.pend[:n]})
	f.pend = f.pend[:copy(f.pend, f.pend[n:])]
	return true
}

// cut delivers f's unfinished line as the end of that line.
func (fl *follower) cut(f *file) {
	if len(f.pend) > 0 {
		fl.send(Event{Kind: Cut, Path: f.path, Text: f.pend})
	}
	fl.resetPend(f)
}

// release stops following f (replaced at its name, already read to its
// end): it is closed, remembered in case it shows up under another name,
// and the names waiting for it are looked at again.
func (fl *follower) release(f *file) {
	fl.cut(f)
	delete(fl.byID, f.id)
	if fl.paths[f.path] == f {
		delete(fl.paths, f.path)
	}
	f.f.Close()
	fl.retire(f)
	waiters := fl.waiters[f.id]
	delete(fl.waiters, f.id)
	for _, p := range waiters {
		fl.bind(p, false)
	}
}

func (fl *follower) retire(f *file) {
	if len(fl.retired) >= maxRetired {
		var oldest fileID
		var at time.Time
		for id, r := range fl.retired {
			if at.IsZero() || r.at.Before(at) {
				oldest, at = id, r.at
			}
		}
		delete(fl.retired, oldest)
	}
	fl.retired[f.id] = retired{off: f.off, anchor: bytes.Clone(f.anchor), at: time.Now()}
}

// closeDeleted closes files that were deleted, that no name replaced and
// that have not grown for DeletedIdle, so that their space is freed.
func (fl *follower) closeDeleted() {
	for _, f := range fl.byID {
		st, err := f.f.Stat()
		if err != nil {
			continue
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok || sys.Nlink > 0 || time.Since(f.lastGrowth) < DeletedIdle {
			continue
		}
		fl.drain(f)
		fl.cut(f)
		delete(fl.byID, f.id)
		if fl.paths[f.path] == f {
			delete(fl.paths, f.path)
		}
		delete(fl.waiters, f.id)
		f.f.Close()
	}
}

// idle sends an Idle event when something was delivered since the last.
func (fl *follower) idle() {
	if fl.emitted {
		fl.emitted = false
		fl.emit(Event{Kind: Idle})
	}
}

// armFlush sets t to fire when the oldest unfinished line is due.
func (fl *follower) armFlush(t *time.Timer) {
	if fl.opts.FlushAfter < 0 {
		return
	}
	var due time.Time
	for _, f := range fl.byID {
		if !f.pendSince.IsZero() && (due.IsZero() || f.pendSince.Before(due)) {
			due = f.pendSince
		}
	}
	if due.IsZero() {
		t.Stop()
		return
	}
	t.Reset(max(time.Until(due.Add(fl.opts.FlushAfter)), 0))
}

func (fl *follower) flushStale() {
	now := time.Now()
	for _, f := range fl.byID {
		if !f.pendSince.IsZero() && now.Sub(f.pendSince) >= fl.opts.FlushAfter {
			fl.flushPartial(f)
		}
	}
}

// finish reads what is left, delivers unfinished lines as Cut events and
// sends a last Idle.
func (fl *follower) finish() {
	for _, f := range fl.byID {
		fl.read(f, readBudget)
		fl.cut(f)
	}
	fl.idle()
}

func (fl *follower) closeAll() {
	for id, f := range fl.byID {
		f.f.Close()
		delete(fl.byID, id)
	}
}

package logfile

import (
	"bytes"
	"time"
)

// How often a faulty log says so, and how often a shut one tries to open
// again. A full disk must not flood the daemon log, nor a missing folder
// cost a failed open(2) per line of output.
const (
	noticeEvery = time.Minute
	retryEvery  = time.Second
)

// maxSkip bounds what is dropped, after a loss that cut a line, while
// waiting for the next line to start: output without newlines still comes
// back.
const maxSkip = 64 << 10

// Notice tells about a fault of a Writer. Err set and Lost 0: a fault
// has started and output is being lost. Err nil: writing works again and
// Lost bytes were lost meanwhile. Closed: the Writer was closed while
// output lost was not yet reported (Err is the fault, if it still lasts).
type Notice struct {
	Path   string
	Err    error
	Lost   int64
	Closed bool
}

// fault is the state of a Writer that failed.
type fault struct {
	err       error // the fault under way; nil while writing works
	reported  bool  // err was noticed
	lost      int64 // bytes lost and not yet reported
	lostTotal int64
	skip      bool // a lost piece ended inside a line: drop up to its end
	skipped   int64
	torn      bool // the file ends with a cut line that could not be taken back
	rotate    bool // a rotation failed and is still to be done
	retryAt   time.Time
	noticeAt  time.Time // no notice before this
}

// Lost returns how many bytes of output were lost to faults since Open.
func (w *Writer) Lost() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fault.lostTotal
}

// Fault returns the fault under way, or nil.
func (w *Writer) Fault() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fault.err
}

// lose counts p as lost to err. When p ends inside a line, the rest of
// that line is dropped too when it comes, so that no torn line is written.
func (w *Writer) lose(p []byte, err error) {
	if len(p) > 0 {
		w.fault.lost += int64(len(p))
		w.fault.lostTotal += int64(len(p))
		if p[len(p)-1] != '\n' && !w.fault.skip {
			w.fault.skip, w.fault.skipped = true, 0
		}
	}
	w.failed(err)
}

// failed records that a fault is under way, with a notice when it starts
// (rate-limited).
func (w *Writer) failed(err error) {
	if w.fault.err != nil || err == nil {
		return
	}
	w.fault.err = err
	if now := time.Now(); !now.Before(w.fault.noticeAt) {
		w.fault.reported = true
		w.fault.noticeAt = now.Add(noticeEvery)
		w.notices = append(w.notices, Notice{Path: w.path, Err: err})
	}
}

// healthy records that a write worked: a fault is over, with a notice of
// what was lost (always after a noticed fault, else rate-limited: the
// loss is then reported with the next notice).
func (w *Writer) healthy() {
	f := &w.fault
	if f.err == nil {
		return
	}
	f.err = nil
	now := time.Now()
	if f.reported || !now.Before(f.noticeAt) {
		w.notices = append(w.notices, Notice{Path: w.path, Lost: f.lost})
		f.lost, f.reported = 0, false
	}
}

// skipLine drops p up to the end of the line that a loss cut, counting it
// as lost, and returns the rest.
func (w *Writer) skipLine(p []byte) []byte {
	n := bytes.IndexByte(p, '\n') + 1
	if n == 0 {
		n = len(p)
		if w.fault.skipped+int64(n) >= maxSkip {
			// No newline in sight: output without lines comes back.
			w.fault.skip = false
			return p
		}
	} else {
		w.fault.skip = false
	}
	w.fault.skipped += int64(n)
	w.fault.lost += int64(n)
	w.fault.lostTotal += int64(n)
	return p[n:]
}

// retry tries to open (or finish rotating) a file a fault shut, at most
// every retryEvery, and reports whether it is open now.
func (w *Writer) retry() bool {
	now := time.Now()
	if now.Before(w.fault.retryAt) {
		return false
	}
	w.fault.retryAt = now.Add(retryEvery)
	var err error
	if w.fault.rotate {
		err = w.rotate()
	} else {
		err = w.open(false)
	}
	if err != nil {
		w.failed(err)
		return false
	}
	return true
}

// cutTornLine takes back the part of a line that a failed write left at
// the end of the file, counting it as lost; where the file cannot be cut
// (a device, or truncate fails too) the line is ended before the next one.
// The cut is measured back from the file's real end: the file may have been
// truncated by someone else (logrotate's copytruncate) since we wrote.
func (w *Writer) cutTornLine() {
	torn := w.size - w.lineEnd
	if torn == 0 {
		return
	}
	if !w.special {
		if st, err := w.f.Stat(); err == nil {
			cut := max(st.Size()-torn, 0)
			if w.f.Truncate(cut) == nil {
				w.fault.lost += torn
				w.fault.lostTotal += torn
				w.size, w.lineEnd = cut, cut
				return
			}
		}
	}
	w.fault.torn = true
}

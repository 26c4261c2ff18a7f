package logfile

import (
	"errors"
	"io"
	"math"
	"os"
)

// MaxRead is the most bytes Read and Tail return from one call, whatever
// length the client asks for: a client can name any 64-bit length, and
// the answer is built in memory. 32 MiB holds a whole log at a usual
// *_logfile_maxbytes; a reader that wants more reads again from the
// offset it got to.
const MaxRead = 32 << 20

// ErrBadArguments is an offset/length pair that Read refuses.
var ErrBadArguments = errors.New("bad arguments")

// Read returns bytes of the file at path as supervisor's readLog does:
// offset >= 0 reads length bytes from offset (length 0: to the end); a
// negative offset with length 0 reads the last -offset bytes; a negative
// offset with a length, or a negative length, is ErrBadArguments. Lengths
// are clamped to what the file holds and to MaxRead: a read from an offset
// keeps its first MaxRead bytes, a read of the last bytes its last MaxRead.
func Read(path string, offset, length int64) ([]byte, error) {
	if (offset < 0 && length != 0) || length < 0 {
		return nil, ErrBadArguments
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if offset < 0 {
		// The last -offset bytes; size+offset cannot overflow since
		// size >= 0 > offset.
		offset = max(size+offset, size-MaxRead, 0)
		length = size - offset
	} else {
		left := max(size-offset, 0) // offset may be past the end
		if length == 0 || length > left {
			length = left
		}
		length = min(length, MaxRead)
	}
	return readAt(f, offset, length)
}

// Tail reads up to length bytes ending at the end of the file, starting
// no earlier than offset, as supervisor's tailFile: it returns the data,
// the file size (the offset to pass next time) and whether bytes between
// offset and the returned data were skipped. A missing file returns empty
// data and the offset unchanged. length is first clamped to MaxRead, so
// a longer request gets the last MaxRead bytes, with overflow set when
// that skips any.
func Tail(path string, offset, length int64) (data []byte, next int64, overflow bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, offset, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, offset, false
	}
	size := st.Size()
	length = min(length, MaxRead)
	// Python's arithmetic, with sums that saturate instead of wrapping.
	if size > addSat(offset, length) {
		overflow = true
		offset = size - 1
	}
	if addSat(offset, length) > size {
		if offset > size-1 {
			length = 0
		}
		// length <= MaxRead here, or 0: no overflow.
		offset = size - length
	}
	offset = max(offset, 0)
	length = max(length, 0)
	if length == 0 {
		return []byte{}, size, overflow
	}
	data, err = readAt(f, offset, min(length, max(size-offset, 0)))
	if err != nil {
		return nil, size, overflow
	}
	return data, size, overflow
}

// readAt reads length bytes at offset (fewer at the end of the file);
// the caller has clamped length to what the file holds and to MaxRead.
func readAt(f *os.File, offset, length int64) ([]byte, error) {
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// addSat is a+b, saturated at the int64 range instead of wrapping.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

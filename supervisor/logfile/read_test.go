package logfile

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Lengths and offsets come from API clients: any 64-bit value must give
// an answer bounded by the file and MaxRead, never a panic or a huge
// allocation (issue 20: a tail of 2^40 bytes ran the daemon out of memory,
// a read of 2^63-1 bytes from offset 1 panicked in makeslice).
func TestRead_hostileSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.log")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	tests := []struct {
		offset, length int64
		want           string
		err            error
	}{
		{1, math.MaxInt64, "123456789", nil},
		{math.MaxInt64, 0, "", nil},
		{math.MaxInt64, math.MaxInt64, "", nil},
		{math.MinInt64, 0, "0123456789", nil},
		{0, 1 << 40, "0123456789", nil},
		{math.MinInt64, 1, "", ErrBadArguments},
		{0, math.MinInt64, "", ErrBadArguments},
	}
	for _, tt := range tests {
		got, err := Read(path, tt.offset, tt.length)
		if err != tt.err || string(got) != tt.want {
			t.Errorf("Read(%d, %d) = %q, %v; want %q, %v", tt.offset, tt.length, got, err, tt.want, tt.err)
		}
	}
}

func TestTail_hostileSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	tests := []struct {
		offset, length int64
		want           string
		next           int64
		overflow       bool
	}{
		{0, 1 << 40, "0123456789", 10, false},
		{0, math.MaxInt64, "0123456789", 10, false},
		{math.MaxInt64, math.MaxInt64, "", 10, false},
		{math.MaxInt64, 1, "", 10, false},
		{math.MinInt64, 4, "6789", 10, true},
		{math.MinInt64, math.MinInt64, "", 10, true},
		{0, math.MinInt64, "", 10, true},
		{1<<31 - 1, 1<<31 - 1, "", 10, false},
	}
	for _, tt := range tests {
		got, next, of := Tail(path, tt.offset, tt.length)
		if string(got) != tt.want || next != tt.next || of != tt.overflow {
			t.Errorf("Tail(%d, %d) = %q %d %v; want %q %d %v", tt.offset, tt.length, got, next, of, tt.want, tt.next, tt.overflow)
		}
	}
}

// A file larger than MaxRead is answered MaxRead bytes at most: from the
// offset for Read, the last ones for a tail or a negative offset.
func TestReadTail_capAtMaxRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(MaxRead + 10)
	f.Truncate(size) // sparse: cheap to make, reads as zeros
	f.WriteAt([]byte("END"), size-3)
	f.Close()

	got, err := Read(path, 0, 0)
	if err != nil || len(got) != MaxRead {
		t.Errorf("Read(0, 0): %d bytes, %v; want %d", len(got), err, MaxRead)
	}
	got, err = Read(path, -(1 << 40), 0)
	if err != nil || len(got) != MaxRead || string(got[len(got)-3:]) != "END" {
		t.Errorf("Read(-2^40, 0): %d bytes, %v; want the last %d", len(got), err, MaxRead)
	}
	got, next, of := Tail(path, 0, 1<<40)
	if len(got) != MaxRead || string(got[len(got)-3:]) != "END" || next != size || !of {
		t.Errorf("Tail(0, 2^40): %d bytes, next %d, overflow %v; want the last %d, %d, true", len(got), next, of, MaxRead, size)
	}
}

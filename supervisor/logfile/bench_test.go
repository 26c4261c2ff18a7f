package logfile

import (
	"bytes"
	"path/filepath"
	"testing"
)

// BenchmarkWriter measures rotating log writes (MB/s): a child's output
// arriving one 100-byte line per Write (what a line-buffered child gives
// the capture goroutine) or in 64 KiB reads of such lines, into files that
// rotate at 8 MiB (rarely) or 256 KiB (often), with 10 backups.
func BenchmarkWriter(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	for _, c := range []struct {
		name     string
		chunk    []byte
		maxBytes int64
	}{
		{"write=100B/maxbytes=8MiB", line, 8 << 20},
		{"write=64KiB/maxbytes=8MiB", bytes.Repeat(line, 655), 8 << 20},
		{"write=100B/maxbytes=256KiB", line, 256 << 10},
		{"write=64KiB/maxbytes=256KiB", bytes.Repeat(line, 655), 256 << 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, err := Open(filepath.Join(b.TempDir(), "app.log"), c.maxBytes, 10)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(len(c.chunk)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(c.chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package process

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/gpudesk/runtime/supervisor/config"
)

// discardLog is a daemon log that formats what it takes and throws it away.
type discardLog struct{ level config.LogLevel }

func (l discardLog) Enabled(level config.LogLevel) bool { return level >= l.level }

func (l discardLog) Log(level config.LogLevel, format string, args ...any) {
	if level >= l.level {
		fmt.Fprintf(io.Discard, format, args...)
	}
}

// BenchmarkStream_write measures what a chunk of child output costs the
// capture goroutine on its way to the daemon log: at info it must cost
// nothing (no check of UTF-8, no repr, no formatting); at debug it is
// formatted once.
func BenchmarkStream_write(b *testing.B) {
	chunk := bytes.Repeat([]byte("a line of output from the child\n"), 128)
	for _, level := range []config.LogLevel{config.LevelInfo, config.LevelDebug} {
		b.Run(level.String(), func(b *testing.B) {
			p := New(&config.Process{Name: "bench"}, &Runtime{Log: discardLog{level}})
			s := newStream(p, 1, "stdout", nil)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				s.write(chunk)
			}
		})
	}
}

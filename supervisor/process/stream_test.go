package process

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gpudesk/runtime/supervisor/config"
)

// recordLog is a daemon log that keeps what it is given.
type recordLog struct {
	level config.LogLevel
	lines []string
}

func (l *recordLog) Enabled(level config.LogLevel) bool { return level >= l.level }

func (l *recordLog) Log(level config.LogLevel, format string, args ...any) {
	if level >= l.level {
		l.lines = append(l.lines, fmt.Sprintf(format, args...))
	}
}

// TestStream_mainLog feeds chunks to a stream, as the capture goroutine
// does, and checks the debug lines (Python's dispatchers' words).
func TestStream_mainLog(t *testing.T) {
	tests := []struct {
		name     string
		level    config.LogLevel
		listener bool
		capMax   int64
		strip    bool
		chunks   []string
		want     []string
	}{
		{name: "text", level: config.LevelDebug, chunks: []string{"hello\n", "wörld\n"},
			want: []string{"'app' stdout output:\nhello\n", "'app' stdout output:\nwörld\n"}},
		{name: "undecodable", level: config.LevelDebug, chunks: []string{"\x88\n", "caf\xc3"},
			want: []string{"'app' stdout output:\nUndecodable: b'\\x88\\n'", "'app' stdout output:\nUndecodable: b'caf\\xc3'"}},
		{name: "quote in output", level: config.LevelDebug, chunks: []string{"it's \xff"},
			want: []string{`'app' stdout output:` + "\n" + `Undecodable: b"it's \xff"`}},
		{name: "trace logs too", level: config.LevelTrace, chunks: []string{"x"},
			want: []string{"'app' stdout output:\nx"}},
		{name: "info logs nothing", level: config.LevelInfo, chunks: []string{"hello\n", "\x88"}},
		{name: "listener bytes", level: config.LevelDebug, listener: true, chunks: []string{"RESULT 2\nOKREADY\n"},
			want: []string{"'app' stdout output:\nb'RESULT 2\\nOKREADY\\n'"}},
		{name: "capture tokens are not logged", level: config.LevelDebug, capMax: 100,
			chunks: []string{"a<!--XSUPERVISOR:BEGIN-->b<!--XSUPERVISOR:END-->c"},
			want:   []string{"'app' stdout output:\na", "'app' stdout output:\nb", "'app' stdout output:\nc"}},
		{name: "strip_ansi", level: config.LevelDebug, strip: true, chunks: []string{"\x1b[31mred\x1b[0m\n"},
			want: []string{"'app' stdout output:\nred\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &recordLog{level: tt.level}
			cfg := &config.Process{Name: "app"}
			cfg.Stdout.CaptureMaxBytes = tt.capMax
			p := New(cfg, &Runtime{Log: log, StripANSI: tt.strip})
			s := newStream(p, 1, "stdout", nil)
			s.listener = tt.listener
			for _, c := range tt.chunks {
				s.write([]byte(c))
			}
			if !reflect.DeepEqual(log.lines, tt.want) {
				t.Errorf("logged %q, want %q", log.lines, tt.want)
			}
		})
	}
}

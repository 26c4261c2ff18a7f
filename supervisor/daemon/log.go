package daemon

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/logfile"
	"github.com/rs/zerolog"
)

// levelTags are the level names supervisor writes in its log.
var levelTags = map[config.LogLevel]string{
	config.LevelCritical: "CRIT", config.LevelError: "ERRO", config.LevelWarn: "WARN",
	config.LevelInfo: "INFO", config.LevelDebug: "DEBG", config.LevelTrace: "TRAC",
	config.LevelBlather: "BLAT",
}

// Logger is supervisord's own log: "2006-01-02 15:04:05,000 INFO message"
// lines, as Python supervisor writes them, to the log file and, when
// running in the foreground, to stdout. With JSON set, each line is a
// zerolog JSON object instead ({"level":"info","time":…,"message":…}).
type Logger struct {
	mu    sync.Mutex
	level config.LogLevel
	file  *logfile.Writer
	out   *consoleWriter // stdout in the foreground, else nil
	json  *zerolog.Logger
	now   func() time.Time
	// closed is set by Close, under mu.
	closed bool
}

// NewLogger opens the daemon log. path "" logs only to out.
func NewLogger(path string, maxBytes int64, backups int, level config.LogLevel, out io.Writer, jsonFormat bool) (*Logger, error) {
	l := &Logger{level: level, now: time.Now}
	if out != nil {
		l.out = &consoleWriter{w: out}
	}
	if path != "" && path != "syslog" {
		w, err := logfile.Open(path, maxBytes, backups)
		if err != nil {
			return nil, err
		}
		l.file = w
	}
	if jsonFormat {
		var sinks []io.Writer
		if l.file != nil {
			sinks = append(sinks, l.file)
		}
		if l.out != nil {
			sinks = append(sinks, l.out)
		}
		zl := zerolog.New(zerolog.MultiLevelWriter(sinks...)).With().Timestamp().Logger()
		l.json = &zl
	}
	return l, nil
}

// Enabled reports whether messages at level are written. Callers with
// costly messages (every chunk of child output at debug) check it once
// instead of formatting for nothing.
func (l *Logger) Enabled(level config.LogLevel) bool { return level >= l.level }

// Log writes one message at level. After Close it writes nothing: output
// still being drained may log late without touching a closed file.
func (l *Logger) Log(level config.LogLevel, format string, args ...any) {
	if level < l.level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.write(level, msg)
	if l.out != nil && l.out.err != nil && !l.out.reported {
		// Once, and to the file only: the console is gone.
		l.out.reported = true
		l.write(config.LevelWarn, fmt.Sprintf("stopped logging to stdout, which is no longer writable (%v); this log file goes on", l.out.err))
	}
}

func (l *Logger) write(level config.LogLevel, msg string) {
	if l.json != nil {
		l.json.WithLevel(zerologLevel(level)).Str("supervisor_level", levelTags[level]).Msg(msg)
		return
	}
	now := l.now()
	line := fmt.Sprintf("%s,%03d %s %s\n", now.Format("2006-01-02 15:04:05"), now.Nanosecond()/1e6, levelTags[level], msg)
	if l.file != nil {
		l.file.Write([]byte(line))
	}
	if l.out != nil {
		io.WriteString(l.out, line)
	}
}

// consoleWriter is the daemon's stdout in the foreground. When its reader
// goes away (`supervisord -n | head`, a log collector that exits), writes
// fail with EPIPE: from then on it drops everything, so the daemon and
// its children carry on with the log file only. (The daemon receives
// SIGPIPE on a signal channel, so a broken stdout is an error here and
// not the end of the process.)
type consoleWriter struct {
	w        io.Writer
	err      error // the first write error; nothing is written after it
	reported bool  // the error is in the log file
}

func (c *consoleWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return len(p), nil
	}
	if _, err := c.w.Write(p); err != nil {
		c.err = err
	}
	return len(p), nil
}

func zerologLevel(level config.LogLevel) zerolog.Level {
	switch {
	case level >= config.LevelCritical:
		return zerolog.FatalLevel // WithLevel never exits
	case level >= config.LevelError:
		return zerolog.ErrorLevel
	case level >= config.LevelWarn:
		return zerolog.WarnLevel
	case level >= config.LevelInfo:
		return zerolog.InfoLevel
	case level >= config.LevelDebug:
		return zerolog.DebugLevel
	}
	return zerolog.TraceLevel
}

// Reopen reopens the log file (SIGUSR2).
func (l *Logger) Reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

// Path returns the log file's path ("" when none).
func (l *Logger) Path() string {
	if l.file == nil {
		return ""
	}
	return l.file.Path()
}

// Close closes the log file.
func (l *Logger) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.file != nil {
		l.file.Close()
	}
}

// stdoutIfForeground is os.Stdout unless the daemon is silent.
func stdoutIfForeground(s config.Supervisord) io.Writer {
	if s.Nodaemon && !s.Silent {
		return os.Stdout
	}
	return nil
}

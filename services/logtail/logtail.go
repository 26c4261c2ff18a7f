package logtail

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/gpudesk/runtime/services/logtail/follow"
	"github.com/gpudesk/runtime/supervisor/logfile"
)

// Main runs the logtail command: args without the program name, lookup
// for the environment. It returns nil when ctx is done, or an error for
// the caller to show: a usage error wraps ErrUsage.
func Main(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, warnings, err := ParseArgs(args, lookup, isTerminal(stdout))
	if errors.Is(err, flag.ErrHelp) {
		Usage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "logtail: %s\n", w)
	}
	if cfg.View {
		return View(ctx, cfg.Out, cfg.Lines, stdout, stderr)
	}
	return Run(ctx, cfg, stdout, stderr)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Run follows cfg.Paths until ctx is done, writing the stream to stdout
// and to cfg.Out. A missing or unwritable out file is reported on stderr
// and the stream goes on to stdout.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	red := NewRedactor(cfg.Secrets)
	outs := []*output{{name: "stdout", w: stdout}}
	var skip func(string) bool
	if cfg.Out != "" {
		out, err := logfile.Open(cfg.Out, cfg.OutMaxBytes, 1)
		if err != nil {
			fmt.Fprintf(stderr, "logtail: %v (going on without it)\n", err)
		} else {
			defer out.Close()
			outs = append(outs, &output{name: cfg.Out, w: out})
		}
		// Never follow our own output: the stream would feed itself.
		own, _ := filepath.Abs(cfg.Out)
		skip = func(p string) bool {
			abs, _ := filepath.Abs(p)
			return abs == own || abs == own+".1"
		}
	}
	s := newStream(red, stderr, true, outs...)
	defer s.flush()
	opts := follow.Options{
		Lines:      cfg.Lines,
		FlushAfter: cfg.FlushAfter,
		Hold:       red.Hold,
		Skip:       skip,
	}
	return follow.Follow(ctx, cfg.Paths, opts, s.handle)
}

// View follows the file at path (logtail's own output, across its
// rotation) and prints it to stdout, starting with its last lines lines,
// until ctx is done. Problems go to stderr.
func View(ctx context.Context, path string, lines int, stdout, stderr io.Writer) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "logtail: %s does not exist yet; waiting for it\n", path)
	}
	s := newStream(nil, stderr, false, &output{name: "stdout", w: stdout})
	defer s.flush()
	return follow.Follow(ctx, []string{path}, follow.Options{Lines: lines}, s.handle)
}

package storagemonitor

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Exit codes of the storagemonitor command.
const (
	ExitOK    = 0
	ExitError = 1 // --once or --dry-run: a mapping or an operation failed (see the log)
	ExitUsage = 2 // bad command line
)

const usage = `usage: storagemonitor [--storage DIR] [--image-storage DIR] [--mappings PATH]
                      [--wait-for PATH] [--once] [--dry-run]
                      [--log-level LEVEL] [--log-format console|json]
                      [--rescan-interval DURATION]

Links the files of the workspace storage into application folders as
symlinks, following the mappings, and keeps them up to date.

  --storage DIR          storage root (default $WORKSPACE/storage)
  --image-storage DIR    files bundled in the image, linked into the
                         storage at start; "" to skip (default /opt/storage)
  --mappings PATH        a TOML mappings file, a mappings.sh file, or a
                         folder of them (default /etc/storagemonitor/mappings.toml,
                         plus the mappings.d folder next to a file)
  --wait-for PATH        wait for this marker to disappear before starting;
                         "" not to wait (default /run/workspace_sync)
  --once                 do the start-up pass and exit: 0 when everything
                         that could be linked was (conflicts and targets
                         whose application is not installed yet are
                         reported, not failures), 1 otherwise
  --dry-run              print what the start-up pass would change, change
                         nothing, and exit
  --log-level LEVEL      debug (one line per link), info, warn or error
                         (default info)
  --log-format FORMAT    console or json (default console)
  --rescan-interval D    how often unwatched folders (inotify limit) and
                         missing targets are looked at again (default 30s)
`

// Main runs the storagemonitor command with args (without the program
// name) and returns its exit code. getenv reads the environment
// (WORKSPACE).
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("storagemonitor", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	workspace := getenv("WORKSPACE")
	if workspace == "" {
		workspace = "/workspace"
	}
	var (
		storage      = fl.String("storage", filepath.Join(workspace, "storage"), "")
		imageStorage = fl.String("image-storage", "/opt/storage", "")
		mappings     = fl.String("mappings", "", "")
		waitFor      = fl.String("wait-for", DefaultWaitFor, "")
		once         = fl.Bool("once", false, "")
		dryRun       = fl.Bool("dry-run", false, "")
		logLevel     = fl.String("log-level", "info", "")
		logFormat    = fl.String("log-format", "console", "")
		rescan       = fl.Duration("rescan-interval", DefaultRescanInterval, "")
	)
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usage)
			return ExitOK
		}
		fmt.Fprintf(stderr, "storagemonitor: %v\n%s", err, usage)
		return ExitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "storagemonitor: unexpected argument %q\n%s", fl.Arg(0), usage)
		return ExitUsage
	}
	level, err := zerolog.ParseLevel(*logLevel)
	if err != nil || *logLevel == "" {
		fmt.Fprintf(stderr, "storagemonitor: --log-level %q: use debug, info, warn or error\n", *logLevel)
		return ExitUsage
	}
	if *rescan <= 0 {
		fmt.Fprintf(stderr, "storagemonitor: --rescan-interval %s: must be positive\n", *rescan)
		return ExitUsage
	}
	var out io.Writer
	switch *logFormat {
	case "console":
		out = zerolog.ConsoleWriter{Out: stderr, NoColor: true, TimeFormat: "2006-01-02 15:04:05"}
	case "json":
		out = stderr
	default:
		fmt.Fprintf(stderr, "storagemonitor: --log-format %q: use console or json\n", *logFormat)
		return ExitUsage
	}
	if *storage == "" {
		fmt.Fprintf(stderr, "storagemonitor: --storage: give the storage folder\n")
		return ExitUsage
	}
	log := zerolog.New(out).Level(level).With().Timestamp().Logger()

	if *waitFor != "" {
		if *dryRun {
			if _, err := os.Lstat(*waitFor); err == nil {
				fmt.Fprintf(stdout, "wait %s (present: a real run waits for it to be removed)\n", showPath(*waitFor))
			}
		} else if err := WaitGone(ctx, *waitFor, 5*time.Second, log); err != nil {
			return ExitOK // stopped while waiting
		}
	}

	maps, problems := loadMappings(*mappings, log)
	m, err := New(Options{
		Storage: *storage, ImageStorage: *imageStorage, Mappings: maps, Log: log,
		DryRun: *dryRun, Plan: stdout, RescanInterval: *rescan,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return ExitUsage
	}
	if !*once && !*dryRun {
		m.Run(ctx)
		return ExitOK
	}
	err = m.Once(ctx)
	if err != nil && !errors.Is(err, ErrIncomplete) {
		log.Error().Err(err).Msg("start-up pass failed")
		return ExitError
	}
	if err != nil || problems > 0 {
		return ExitError
	}
	return ExitOK
}

// loadMappings reads the mappings named on the command line, or the
// default file, logging every problem; it returns the mappings and the
// number of problems.
func loadMappings(p string, log zerolog.Logger) ([]Mapping, int) {
	explicit := p != ""
	if !explicit {
		p = DefaultMappings
		if _, err := os.Stat(p); err != nil {
			d := filepath.Join(filepath.Dir(p), "mappings.d")
			if _, err := os.Stat(d); err != nil {
				log.Warn().Str("path", p).Msg("no mappings file; only the image storage is linked into the storage")
				return nil, 0
			}
			p = d
		}
	}
	maps, files, errs := LoadMappings(p)
	for _, err := range errs {
		ev := log.Error()
		var me *MappingError
		if errors.As(err, &me) {
			ev = ev.Str("file", me.File)
			if me.Entry != "" {
				ev = ev.Str("entry", me.Entry)
			}
		}
		ev.Msg(err.Error())
	}
	log.Info().Str("files", strings.Join(files, ", ")).Int("mappings", len(maps)).Int("problems", len(errs)).Msg("read the mappings")
	return maps, len(errs)
}

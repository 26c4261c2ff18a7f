// Package logtail is the container's log follower: it follows every log
// of the container (supervisor's and the init logs), prints them to
// stdout with a `==> file <==` header whenever the source changes (so
// `docker logs` shows them), keeps the same stream in /var/log/logtail.log
// for the portal, and replaces secrets by *** on the way. It also has a
// viewer for people that follows that file in a terminal.
//
// Following itself (rotation, truncation, new files, partial lines) is the
// follow package's job.
package logtail

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultPaths are followed when no path is given: supervisor's logs and
// the init logs of the image.
var DefaultPaths = []string{
	"/var/log/supervisor/*.log",
	"/var/log/config.log",
	"/var/log/sync.log",
	"/var/log/preflight.log",
	"/var/log/debug.log",
	"/var/log/provisioning.log",
}

// Defaults of Config.
const (
	DefaultLines       = 512
	DefaultOut         = "/var/log/logtail.log"
	DefaultOutMaxBytes = 10 << 20
	DefaultFlushAfter  = time.Second
)

// SecretVars are the variables whose values are always redacted;
// RedactVar names more (comma- or space-separated).
var SecretVars = []string{"WEB_PASSWORD", "WEB_TOKEN", "CF_TUNNEL_TOKEN", "USER_PASSWORD", "OPEN_BUTTON_TOKEN"}

// RedactVar is the variable that names more variables to redact.
const RedactVar = "LOGTAIL_REDACT"

// Config is what logtail follows and where it writes.
type Config struct {
	// Paths are the files and globs to follow (glob characters in the
	// file name only).
	Paths []string
	// Lines is how many lines of each existing file are printed first.
	Lines int
	// Out is the file that keeps a copy of the stream ("" for none).
	Out string
	// OutMaxBytes is Out's size cap; it is rotated to Out.1 beyond it.
	OutMaxBytes int64
	// Secrets are the values to redact.
	Secrets []string
	// FlushAfter is how long an unfinished line waits for its newline
	// before its beginning is printed.
	FlushAfter time.Duration
	// View runs the viewer: follow Out and print it, nothing else.
	View bool
}

// ConfigError is a bad value in the configuration or on the command line.
type ConfigError struct {
	Field string
	Value string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrUsage is wrapped by every command-line error.
var ErrUsage = errors.New("usage")

// Validate checks c.
func (c *Config) Validate() error {
	switch {
	case !c.View && len(c.Paths) == 0:
		return &ConfigError{"paths", "", errors.New("nothing to follow")}
	case c.Lines < 0:
		return &ConfigError{"--lines", strconv.Itoa(c.Lines), errors.New("must be 0 or more")}
	case c.OutMaxBytes < 0:
		return &ConfigError{"--out-max-bytes", strconv.FormatInt(c.OutMaxBytes, 10), errors.New("must be 0 (no cap) or more")}
	case c.View && c.Out == "":
		return &ConfigError{"--out", "", errors.New("--view needs the file to view")}
	}
	for _, p := range c.Paths {
		if p == "" {
			return &ConfigError{"path", p, errors.New("empty path")}
		}
	}
	return nil
}

const usage = `usage: logtail [--lines N] [--out FILE] [--out-max-bytes N] [PATH_OR_GLOB ...]
       logtail --view [--lines N] [--out FILE]

Follows log files (by default supervisor's and the init logs) and prints
them to stdout with a "==> file <==" header whenever the source changes,
keeping a copy in --out for the portal. The values of the variables
  %s
and of those named in %s are printed as ***.

With --view (or with no arguments at all on a terminal) it follows the
--out file instead, for people.

Options:
`

// flags defines the command line's options over cfg.
func flags(cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("logtail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&cfg.Lines, "lines", cfg.Lines, "lines of each existing file to print first")
	fs.IntVar(&cfg.Lines, "n", cfg.Lines, "short for --lines")
	fs.StringVar(&cfg.Out, "out", cfg.Out, `copy of the stream, for the portal ("" for none)`)
	fs.Func("out-max-bytes", "size cap of --out, rotated to FILE.1 beyond it (bytes, or with KB, MB, GB; default 10MB)", func(s string) error {
		n, err := ParseSize(s)
		cfg.OutMaxBytes = n
		return err
	})
	fs.BoolVar(&cfg.View, "view", false, "follow --out in a terminal")
	return fs
}

func defaultConfig() Config {
	return Config{Lines: DefaultLines, Out: DefaultOut, OutMaxBytes: DefaultOutMaxBytes, FlushAfter: DefaultFlushAfter}
}

// Usage writes the command's help.
func Usage(w io.Writer) {
	fmt.Fprintf(w, usage, strings.Join(SecretVars, ", "), RedactVar)
	cfg := defaultConfig()
	fs := flags(&cfg)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// ParseArgs reads the command line; lookup reads the environment (the
// secrets). isTerminal says whether stdout is a terminal: with no
// arguments at all, a terminal gets the viewer, as the images' old
// `logtail` alias did. It returns flag.ErrHelp for --help, and warnings
// to show (about the secrets, naming variables, never values).
func ParseArgs(args []string, lookup func(string) (string, bool), isTerminal bool) (Config, []string, error) {
	cfg := defaultConfig()
	fs := flags(&cfg)

	// Flags may come after paths.
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return cfg, nil, flag.ErrHelp
			}
			return cfg, nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			cfg.Paths = append(cfg.Paths, rest[1:]...)
			break
		}
		cfg.Paths = append(cfg.Paths, rest[0])
		rest = rest[1:]
	}
	if len(args) == 0 && isTerminal {
		cfg.View = true
	}
	if cfg.View && len(cfg.Paths) > 0 {
		return cfg, nil, fmt.Errorf("%w: --view follows --out only; no paths", ErrUsage)
	}
	if len(cfg.Paths) == 0 && !cfg.View {
		cfg.Paths = append([]string(nil), DefaultPaths...)
	}
	warnings := cfg.readSecrets(lookup)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return cfg, warnings, nil
}

// readSecrets collects the values to redact and returns warnings about
// them (naming variables, never showing values).
func (c *Config) readSecrets(lookup func(string) (string, bool)) []string {
	names := append([]string(nil), SecretVars...)
	if v, ok := lookup(RedactVar); ok {
		names = append(names, strings.FieldsFunc(v, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n'
		})...)
	}
	var warnings []string
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		v, ok := lookup(name)
		if !ok || v == "" {
			continue
		}
		if len(strings.TrimSpace(v)) < MinSecretLen {
			warnings = append(warnings, fmt.Sprintf("%s is shorter than %d characters and is not redacted", name, MinSecretLen))
			continue
		}
		c.Secrets = append(c.Secrets, v)
	}
	return warnings
}

// ParseSize reads a byte count as supervisor writes them: a number,
// optionally followed by KB, MB or GB (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (use a number of bytes, or with KB, MB or GB)", s)
	}
	return n * mult, nil
}

// Package cli holds the command-line front ends of supervisord and
// supervisorctl: argument parsing, messages and exit codes. The work is
// done by the library packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/daemon"
	"github.com/gpudesk/runtime/supervisor/internal/getopt"
	"github.com/gpudesk/runtime/supervisor/rpc"
)

// Version is the supervisor version this implementation is compatible with.
const Version = "4.2.5"

// supervisordUsage is the text Python's supervisord prints for -h, --help
// and -? (its module docstring plus a newline), byte for byte: scripts and
// tests compare it. Our extensions (--check, --print-config,
// --log-format) are documented in the README instead.
const supervisordUsage = `supervisord -- run a set of applications as daemons.

Usage: %s [options]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
--profile_options OPTIONS -- run supervisord under profiler and output
                             results based on OPTIONS, which  is a comma-sep'd
                             list of 'cumulative', 'calls', and/or 'callers',
                             e.g. 'cumulative,callers')

`

// flagOptions maps supervisord's flags to config option names.
var flagOptions = map[string]string{
	"-n": "nodaemon", "--nodaemon": "nodaemon",
	"-s": "silent", "--silent": "silent",
	"-u": "user", "--user": "user",
	"-m": "umask", "--umask": "umask",
	"-d": "directory", "--directory": "directory",
	"-l": "logfile", "--logfile": "logfile",
	"-y": "logfile_maxbytes", "--logfile_maxbytes": "logfile_maxbytes",
	"-z": "logfile_backups", "--logfile_backups": "logfile_backups",
	"-e": "loglevel", "--loglevel": "loglevel",
	"-j": "pidfile", "--pidfile": "pidfile",
	"-i": "identifier", "--identifier": "identifier",
	"-q": "childlogdir", "--childlogdir": "childlogdir",
	"-k": "nocleanup", "--nocleanup": "nocleanup",
	"-a": "minfds", "--minfds": "minfds",
	"--minprocs": "minprocs",
	"-t":         "strip_ansi", "--strip_ansi": "strip_ansi",
}

var supervisordLong = []string{
	"help", "version", "configuration=", "nodaemon", "silent", "user=", "umask=",
	"directory=", "logfile=", "logfile_maxbytes=", "logfile_backups=", "loglevel=",
	"pidfile=", "identifier=", "childlogdir=", "nocleanup", "minfds=", "minprocs=",
	"strip_ansi", "profile_options=", "check", "print-config", "log-format=",
}

// usageError is a command-line or configuration error: printed as
// "Error: ..." with the help hint, exit status 2, as Python does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Supervisord runs the supervisord command and returns its exit status.
func Supervisord(argv []string, stdout, stderr io.Writer) int {
	prog := filepath.Base(argv[0])
	err := supervisord(argv, stdout, stderr)
	var ue *usageError
	var ce config.Errors
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		fmt.Fprintln(stderr, ce.Error())
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "Error: %s\nFor help, use %s -h\n", ue.msg, argv[0])
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
}

func supervisord(argv []string, stdout, stderr io.Writer) error {
	opts, rest, err := getopt.Parse(argv[1:], "h?vc:nsu:m:d:l:y:z:e:j:i:q:ka:t", supervisordLong)
	if err != nil {
		return &usageError{err.Error()}
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("positional arguments are not supported: %s", pyList(rest))}
	}
	var (
		file             string
		check, printConf bool
		jsonLog          bool
		overrides        []getopt.Option
	)
	seen := map[string]bool{}
	var probe config.Supervisord // validates flag values in order, as Python does
	for _, o := range opts {
		switch o.Name {
		case "-h", "-?", "--help":
			io.WriteString(stdout, strings.ReplaceAll(supervisordUsage, "%s", argv[0]))
			return nil
		case "-v", "--version":
			fmt.Fprintln(stdout, Version)
			return nil
		case "-c", "--configuration":
			if file != "" {
				return &usageError{fmt.Sprintf("conflicting command line option %s", pyQuote(o.Name))}
			}
			file = o.Value
		case "--check":
			check = true
		case "--print-config":
			printConf = true
		case "--log-format":
			switch o.Value {
			case "json":
				jsonLog = true
			case "text":
			default:
				return &usageError{fmt.Sprintf("invalid value for --log-format %s: use text or json", pyQuote(o.Value))}
			}
		case "--profile_options":
			// Accepted for compatibility; there is no Python profiler here.
		default:
			name := flagOptions[o.Name]
			if seen[name] {
				return &usageError{fmt.Sprintf("conflicting command line option %s", pyQuote(o.Name))}
			}
			seen[name] = true
			// Python checks -u only after reading the file.
			if err := probe.Override(name, o.Value); err != nil && name != "user" {
				return &usageError{fmt.Sprintf("invalid value for %s %s: %v", o.Name, pyQuote(o.Value), err)}
			}
			overrides = append(overrides, o)
		}
	}
	if file == "" {
		file, err = defaultConfigFile(argv[0])
		if err != nil {
			return err
		}
	}
	cfg, err := config.Load(file)
	if err != nil {
		var ce config.Errors
		if check && errors.As(err, &ce) {
			return err
		}
		if errors.As(err, &ce) {
			// Python prints the first problem as "Error: ..."; we print all.
			msgs := make([]string, len(ce))
			for i, e := range ce {
				msgs[i] = e.Error()
			}
			return &usageError{strings.Join(msgs, "\n")}
		}
		return &usageError{err.Error()}
	}
	for _, o := range overrides {
		if err := cfg.Supervisord.Override(flagOptions[o.Name], o.Value); err != nil {
			return &usageError{err.Error()} // only -u gets here: an unknown user
		}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	switch {
	case printConf:
		return cfg.WriteJSON(stdout)
	case check:
		programs := 0
		for _, g := range cfg.Groups {
			programs += len(g.Processes)
		}
		budget := ""
		if s := cfg.Supervisord; s.ShutdownBudget > 0 {
			budget = fmt.Sprintf("; shutdown within %s (%s)", s.ShutdownBudget, s.ShutdownBudgetFrom)
		}
		fmt.Fprintf(stdout, "%s: ok (%d programs, %d groups%s)\n", file, programs, len(cfg.Groups), budget)
		return nil
	}
	if !cfg.Supervisord.Nodaemon && os.Getenv(daemonizedEnv) == "" {
		return daemonize(cfg)
	}
	if os.Getenv(daemonizedEnv) != "" {
		os.Unsetenv(daemonizedEnv)
		settleDaemon(cfg)
	}
	reload := func() (*config.Config, error) {
		c, err := config.Load(file)
		if err != nil {
			return nil, err
		}
		for _, o := range overrides {
			if err := c.Supervisord.Override(flagOptions[o.Name], o.Value); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	handler := func(d *daemon.Daemon) http.Handler { return rpc.New(d).Handler() }
	d, err := daemon.New(cfg, daemon.Options{Reload: reload, JSONLog: jsonLog, Handler: handler})
	if err != nil {
		return &usageError{err.Error()}
	}
	if err := d.Run(); err != nil {
		return &usageError{err.Error()}
	}
	return nil
}

// daemonizedEnv marks the re-executed background copy of supervisord.
const daemonizedEnv = "_SUPERVISORD_DAEMONIZED"

// daemonize starts supervisord again in the background, in a new session
// with its standard streams on /dev/null, and returns: Go cannot fork
// without exec, so this is the equivalent of Python's fork-and-exit.
func daemonize(cfg *config.Config) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemonizing: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemonizing: %w", err)
	}
	defer null.Close()
	attr := &os.ProcAttr{
		Env:   append(os.Environ(), daemonizedEnv+"=1"),
		Files: []*os.File{null, null, null},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	p, err := os.StartProcess(self, os.Args, attr)
	if err != nil {
		return fmt.Errorf("daemonizing: %w", err)
	}
	return p.Release()
}

// settleDaemon does what Python does in the daemonized child: chdir to
// directory and set the umask.
func settleDaemon(cfg *config.Config) {
	s := cfg.Supervisord
	if s.Directory != "" {
		os.Chdir(s.Directory)
	}
	syscall.Umask(s.Umask)
}

// defaultConfigFile searches where Python supervisord searches.
func defaultConfigFile(argv0 string) (string, error) {
	if p := config.FindConfigFile(argv0); p != "" {
		return p, nil
	}
	return "", &usageError{fmt.Sprintf("No config file found at default paths (%s); use the -c option to specify a config file at a different path",
		strings.Join(config.SearchPaths(argv0), ", "))}
}

// pyQuote quotes s as Python's repr does for simple strings.
func pyQuote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = pyQuote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Package config loads supervisord configuration files into typed structs,
// accepting and rejecting exactly what Python supervisor 4.2.5 does, and
// explaining every rejection with the file, line, section, option and value.
//
// Every default lives in this file. Load reads a file and its [include]s;
// the returned *Config is complete and valid, or Load returns Errors.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gpudesk/runtime/supervisor/ready"
)

// Defaults, as supervisor 4.2.5 has them.
const (
	DefaultLogfile         = "supervisord.log"
	DefaultPidfile         = "supervisord.pid"
	DefaultLogfileMaxBytes = 50 << 20
	DefaultLogfileBackups  = 10
	DefaultLogLevel        = LevelInfo
	DefaultUmask           = 0o022
	DefaultMinFDs          = 1024
	DefaultMinProcs        = 200
	DefaultIdentifier      = "supervisor"

	DefaultPriority         = 999
	DefaultListenerPriority = -1
	DefaultStartSecs        = 1
	DefaultStartRetries     = 3
	DefaultStopWaitSecs     = 10
	DefaultStopSignal       = 15 // SIGTERM
	DefaultBufferSize       = 10
	DefaultSocketMode       = 0o700
	DefaultChmod            = 0o700
	DefaultServerURL        = "http://localhost:9001"
	DefaultPrompt           = "supervisor"
	DefaultResultHandler    = "supervisor.dispatchers:default_handler"
	MainRPCInterface        = "supervisor.rpcinterface:make_main_rpcinterface"
)

// DefaultChildLogDir is where AUTO child logs go unless childlogdir is set:
// the temporary directory, as Python's tempfile.gettempdir() finds it in
// the environment (TMPDIR, TEMP, TMP, then /tmp).
func DefaultChildLogDir(environ []string) string {
	for _, name := range []string{"TMPDIR", "TEMP", "TMP"} {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, name+"="); ok && v != "" && isDir(v) {
				return normalizePath(v)
			}
		}
	}
	return "/tmp"
}

// Config is a loaded, valid configuration.
type Config struct {
	// File is the main configuration file as it was named; Here is the
	// absolute folder it is in (what %(here)s means in it).
	File string
	Here string
	// Included lists the files read through [include], in reading order.
	Included []string
	// IncludePatterns are the [include] globs, made absolute.
	IncludePatterns []string

	Supervisord   Supervisord
	InetServers   []InetHTTPServer
	UnixServers   []UnixHTTPServer
	RPCInterfaces []RPCInterface
	// Groups are sorted by priority then name, as supervisor starts them.
	Groups []*Group
	// Supervisorctl is the [supervisorctl] section of the main file as
	// supervisorctl reads it, or nil when there is none (or it is invalid;
	// see Warnings).
	Supervisorctl *Supervisorctl

	// Warnings are problems supervisor tolerates: an include glob that
	// matches nothing, a section defined in two files, and the like.
	Warnings []*Error
}

// Supervisord is the [supervisord] section.
type Supervisord struct {
	Logfile         string // absolute, or "syslog"
	LogfileMaxBytes int64
	LogfileBackups  int
	LogLevel        LogLevel
	Pidfile         string // absolute
	Umask           int
	Nodaemon        bool
	Silent          bool
	MinFDs          int
	MinProcs        int
	NoCleanup       bool
	ChildLogDir     string
	User            string // "" when unset
	UID             int    // -1 when User is unset
	Directory       string // "" when unset
	StripANSI       bool
	Environment     Environment
	Identifier      string
	// WatchConfig is an extension (watch_config=true): supervisord
	// watches its files and applies edits as `supervisorctl update` does.
	WatchConfig bool
	// ShutdownBudget is an extension (shutdown_budget=SECS, or the
	// SUPERVISOR_SHUTDOWN_BUDGET environment variable): a shutdown stops
	// everything within it, shortening stopwaitsecs. 0: no budget.
	// ShutdownBudgetFrom names where it came from ("" when 0).
	ShutdownBudget     time.Duration
	ShutdownBudgetFrom string
}

// InetHTTPServer is an [inet_http_server] section.
type InetHTTPServer struct {
	Section string
	Name    string // the part after "inet_http_server:", if any
	Host    string // "" means every interface
	Port    int
	// AllowUnauthenticated is an extension (allow_unauthenticated=true):
	// without it supervisord refuses to serve this section on a
	// non-loopback address without a username and password.
	AllowUnauthenticated bool
	// HasAuth is true when username and password are set (possibly empty).
	HasAuth  bool
	Username string
	Password Password
}

// UnixHTTPServer is a [unix_http_server] section.
type UnixHTTPServer struct {
	Section  string
	Name     string
	File     string // absolute
	Chmod    int
	ChownUID int // -1 when not set
	ChownGID int // -1 when not set
	HasAuth  bool
	Username string
	Password Password
}

// Supervisorctl is the [supervisorctl] section.
type Supervisorctl struct {
	ServerURL   string
	Username    string
	Password    string
	Prompt      string
	HistoryFile string // "" when unset
	// UsernameSet and PasswordSet tell an empty value from none.
	UsernameSet, PasswordSet bool
}

// RPCInterface is an [rpcinterface:x] section.
type RPCInterface struct {
	Name    string
	Factory string
	Extras  map[string]string
}

// GroupKind says which section type made a group.
type GroupKind int

// Group kinds.
const (
	KindProcess       GroupKind = iota // [program:x] or [group:x]
	KindEventListener                  // [eventlistener:x]
	KindFCGI                           // [fcgi-program:x]
)

func (k GroupKind) String() string {
	switch k {
	case KindEventListener:
		return "eventlistener"
	case KindFCGI:
		return "fcgi"
	}
	return "process"
}

// Group is a process group: a [group:x], or the implicit group of one
// program, event listener pool or FastCGI program.
type Group struct {
	Name      string
	Kind      GroupKind
	Priority  int
	Processes []*Process // each program's processes sorted by name, programs in [group:x] order
	Section   string
	At        Origin

	// Event listener pools only.
	BufferSize    int
	Events        []string // sorted event type names
	ResultHandler string

	// FastCGI programs only.
	Socket *FCGISocket
}

// FCGISocket is the socket of a [fcgi-program:x].
type FCGISocket struct {
	URL      string // unix:///path or tcp://host:port
	Path     string // unix sockets
	Host     string // tcp sockets
	Port     int
	Backlog  int // 0 when not set
	Mode     int // -1 when not set (tcp)
	OwnerUID int // -1 when not set
	OwnerGID int
}

// LogKind says where a process's output goes.
type LogKind int

// Log targets.
const (
	LogNone LogKind = iota // NONE, OFF, or redirected
	LogAuto                // a file in childlogdir, named at start
	LogFile                // Path
)

// OutputLog is the capture settings of one output stream.
type OutputLog struct {
	Kind            LogKind
	Path            string // when Kind is LogFile, as written (~ expanded)
	MaxBytes        int64
	Backups         int
	CaptureMaxBytes int64
	EventsEnabled   bool
	Syslog          bool
}

// Process is one process of a group, after numprocs expansion.
type Process struct {
	Name    string // the process name
	Group   string
	Program string // the section's name (program_name)
	Section string
	At      Origin // the section header

	Command      string
	Directory    *string // nil when unset
	Umask        int     // -1 when unset
	Priority     int
	Autostart    bool
	Autorestart  Autorestart
	StartSecs    int
	StartRetries int
	User         string // as written; "" when unset
	UID          int    // -1 when unset
	Stdout       OutputLog
	Stderr       OutputLog
	StopSignal   int
	StopWaitSecs int
	StopAsGroup  bool
	KillAsGroup  bool
	ExitCodes    []int
	// RedirectStderr sends stderr to the stdout pipe.
	RedirectStderr bool
	// Environment is [supervisord] environment overlaid with the program's.
	Environment Environment
	ServerURL   *string // nil for AUTO
	ProcessNum  int
	NumProcs    int

	// Start order and readiness (extensions, see readiness.go).
	// DependsOn and BindTo are names as Resolve reads them; Ready is nil
	// when READY means RUNNING.
	DependsOn     []string
	BindTo        []string
	Ready         *ready.Check
	ReadyTimeout  time.Duration
	ReadyInterval time.Duration
	ReadyRestart  bool
}

// Origin is where something was written.
type Origin = origin

// Password is a password as written: plain, or "{SHA}" and a hex SHA-1.
type Password string

// Hashed reports whether the password is a {SHA} digest.
func (p Password) Hashed() bool { return len(p) >= 5 && p[:5] == "{SHA}" }

// Processes returns every process of every group, in start order.
func (c *Config) Processes() []*Process {
	var ps []*Process
	for _, g := range c.Groups {
		ps = append(ps, g.Processes...)
	}
	return ps
}

// Override applies a supervisord command-line option (by its config name:
// "user", "umask", "nodaemon" ...) on top of the file, validating the value
// as the file's value is. Flags take "" as their value.
func (s *Supervisord) Override(option, value string) error {
	var err error
	switch option {
	case "nodaemon":
		s.Nodaemon = true
	case "silent":
		s.Silent = true
	case "nocleanup":
		s.NoCleanup = true
	case "strip_ansi":
		s.StripANSI = true
	case "user":
		s.User = value
		s.UID, err = lookupUID(value)
	case "umask":
		s.Umask, err = octalOf(value)
	case "directory":
		s.Directory, err = existingDirectory(value)
	case "logfile":
		if s.Logfile, err = existingDirpath(value); err == nil && s.Logfile != "syslog" {
			s.Logfile = normalizePath(s.Logfile)
		}
	case "pidfile":
		if s.Pidfile, err = existingDirpath(value); err == nil {
			s.Pidfile = normalizePath(s.Pidfile)
		}
	case "logfile_maxbytes":
		s.LogfileMaxBytes, err = parseByteSize(value)
	case "logfile_backups":
		s.LogfileBackups, err = intOf(value)
	case "loglevel":
		s.LogLevel, err = parseLogLevel(value)
	case "identifier":
		s.Identifier = value
	case "childlogdir":
		s.ChildLogDir, err = existingDirectory(value)
	case "minfds":
		s.MinFDs, err = intOf(value)
	case "minprocs":
		s.MinProcs, err = intOf(value)
	default:
		return fmt.Errorf("unknown supervisord option %q", option)
	}
	return err
}

// SearchPaths are the files supervisord and supervisorctl look for, in
// order, when no -c is given (argv0 is the program as it was run).
func SearchPaths(argv0 string) []string {
	here := pyDirname(pyDirname(argv0))
	return []string{
		pyJoin(here, "etc", "supervisord.conf"),
		pyJoin(here, "supervisord.conf"),
		"supervisord.conf",
		"etc/supervisord.conf",
		"/etc/supervisord.conf",
		"/etc/supervisor/supervisord.conf",
	}
}

// FindConfigFile returns the first of SearchPaths that exists, or "".
func FindConfigFile(argv0 string) string {
	for _, p := range SearchPaths(argv0) {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

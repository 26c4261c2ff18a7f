// Package ctl is supervisorctl: the command-line and interactive front end
// of supervisord's XML-RPC API. Its output, messages and exit statuses are
// those of Python supervisor 4.2.5's supervisorctl, byte for byte; each
// command lives in its own file and registers itself in commands.
package ctl

import (
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
)

// Exit statuses (LSB init script actions, as supervisorctl uses them).
const (
	exitSuccess         = 0
	exitGeneric         = 1
	exitInvalidArgs     = 2
	exitUnimplemented   = 3
	exitNoPrivileges    = 4
	exitNotInstalled    = 5
	exitNotRunning      = 7
	statusNotRunning    = 3 // LSB status action: program is not running
	statusUnknown       = 4 // LSB status action: status unknown
	exitInterrupted     = 130
	pythonLibDir        = "/usr/lib/python3.11"
	supervisorPythonDir = "/usr/lib/python3/dist-packages/supervisor"
)

// Main runs supervisorctl with argv (argv[0] names the program) and returns
// its exit status. Ctrl-C (SIGINT) is handled as Python's KeyboardInterrupt.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	intr := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-sig:
				select {
				case intr <- struct{}{}:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	if len(argv) > 0 && !strings.Contains(argv[0], "/") {
		// Python's sys.argv[0] is the script's path as the shell found it.
		if p, err := exec.LookPath(argv[0]); err == nil && strings.Contains(p, "/") {
			argv = append([]string{p}, argv[1:]...)
		}
	}
	p := &Program{Args: argv, Stdin: stdin, Stdout: stdout, Stderr: stderr, Interrupt: intr}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.Terminal = true
		}
	}
	return p.Run()
}

// Program is one run of supervisorctl with its outside world.
type Program struct {
	Args   []string // argv, the program name first
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Environ is what %(ENV_X)s reads in the configuration file (nil:
	// os.Environ()).
	Environ []string
	// Interrupt delivers one value per Ctrl-C; nil means none ever comes.
	Interrupt <-chan struct{}
	// Terminal says that Stdin is a terminal: lines read from it go to the
	// history file, as readline's do.
	Terminal bool

	// openTTY opens the controlling terminal for password prompts (nil:
	// /dev/tty); tests replace it.
	openTTY func() (*os.File, error)
}

// Run runs the program and returns its exit status.
func (p *Program) Run() int {
	opts, status, done := parseOptions(p)
	if done {
		return status
	}
	c := newController(p, opts)
	defer func() {
		if c.lines != nil {
			c.lines.close()
		}
	}()
	if len(opts.args) > 0 {
		c.onecmd(strings.Join(opts.args, " "))
		if c.interrupted {
			return exitInterrupted
		}
		return c.exitStatus
	}
	if opts.interactive {
		c.cmdloop()
	}
	return exitSuccess
}

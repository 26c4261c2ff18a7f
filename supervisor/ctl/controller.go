package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// command is one supervisorctl action.
type command struct {
	name string
	// run does the action; it returns errStop to end the shell, and any
	// other error is reported as Python reports an unhandled exception.
	run func(c *controller, ctx context.Context, arg string) error
	// help prints "help <name>".
	help func(c *controller)
	// hidden commands are not listed by "help" (Python's Controller, not
	// its plugin, implements them).
	hidden bool
	// extension commands (ours, not Python's) answer "help <name>" but
	// are not listed by "help", which stays Python's.
	extension bool
}

// commands holds every action by name; each command's file registers it.
var commands = map[string]*command{}

func register(cmd *command) {
	if _, dup := commands[cmd.name]; dup {
		panic("ctl: command registered twice: " + cmd.name)
	}
	commands[cmd.name] = cmd
}

// topics lists the commands "help" shows, sorted.
func topics() []string {
	var names []string
	for name, cmd := range commands {
		if !cmd.hidden && !cmd.extension {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// errStop ends the interactive shell (quit, exit, EOF).
var errStop = errors.New("stop")

// errInterrupt is Python's KeyboardInterrupt: a Ctrl-C that no command
// handled.
var errInterrupt = errors.New("KeyboardInterrupt")

// controller is Python's Controller: the state of one supervisorctl run.
type controller struct {
	p           *Program
	opts        *options
	out         io.Writer
	exitStatus  int
	interrupted bool // a KeyboardInterrupt ended the last command

	lines         *lineReader
	history       []string
	warnedGetpass bool

	rpc    *client.Client
	rpcKey string
}

func newController(p *Program, o *options) *controller {
	return &controller{p: p, opts: o, out: p.Stdout}
}

// output writes a line to stdout.
func (c *controller) output(s string) {
	io.WriteString(c.out, s+"\n")
}

// outputf writes a formatted line to stdout.
func (c *controller) outputf(format string, args ...any) {
	c.output(fmt.Sprintf(format, args...))
}

// parseline is Python's cmd.Cmd.parseline: the command word (letters,
// digits and underscores), the rest stripped, and the stripped line. ok is
// false for a line that names no command at all ("!x").
func parseline(line string) (cmd, arg, stripped string, ok bool) {
	line = pyStrip(line)
	switch {
	case line == "":
		return "", "", "", false
	case line[0] == '?':
		line = "help " + line[1:]
	case line[0] == '!':
		return "", "", line, false
	}
	i := 0
	for i < len(line) && isIdentChar(line[i]) {
		i++
	}
	return line[:i], pyStrip(line[i:]), line, true
}

func isIdentChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

// onecmd runs one command line; it returns true when the shell must stop.
func (c *controller) onecmd(line string) bool {
	c.interrupted = false
	name, arg, line, ok := parseline(line)
	if line == "" {
		return false
	}
	cmd := commands[name]
	if !ok || name == "" || cmd == nil {
		c.unknown(line)
		return false
	}
	err := c.call(cmd, arg)
	var he *xmlrpc.HTTPError
	switch {
	case err == nil:
		return false
	case errors.Is(err, errStop):
		return true
	case errors.Is(err, errInterrupt):
		c.interrupted = true
		return false
	case errors.As(err, &he) && he.StatusCode == 401:
		c.output("Server requires authentication")
		if c.opts.interactive {
			if err := c.authenticate(); err != nil {
				return c.report(err)
			}
			return c.onecmd(line)
		}
		c.exitStatus = exitGeneric
		// Python then falls through to a second call of the command,
		// outside the handler, which reports the same error again.
		if err := c.call(cmd, arg); err != nil {
			return c.report(err)
		}
		return false
	default:
		return c.report(err)
	}
}

// report prints an error as Python prints an unhandled exception.
func (c *controller) report(err error) bool {
	if errors.Is(err, errInterrupt) {
		c.interrupted = true
		return false
	}
	c.output(toPyException(err, strings.HasPrefix(c.opts.serverURL, "unix://")).Error())
	c.exitStatus = exitGeneric
	return false
}

// authenticate asks for a username and password, as Python does in the
// shell when the server answers 401.
func (c *controller) authenticate() error {
	return c.interruptible(func(ctx context.Context) error {
		user, err := c.input(ctx, "Username:")
		if err != nil {
			return c.inputError(err, srcAuthUsername, "EOF when reading a line")
		}
		pass, err := c.getpass(ctx, "Password:")
		if err != nil {
			return c.inputError(err, srcAuthPassword, "")
		}
		c.output("")
		c.opts.username, c.opts.password = some(user), some(pass)
		return nil
	})
}

// inputError turns a failed read of stdin into Python's exception: an
// EOFError raised at src, or KeyboardInterrupt.
func (c *controller) inputError(err error, src [2]any, msg string) error {
	if errors.Is(err, context.Canceled) {
		return errInterrupt
	}
	return newPyException("EOFError", msg, src, err)
}

// call runs cmd with Ctrl-C cancelling its context; a command that does
// not handle the interrupt ends with errInterrupt.
func (c *controller) call(cmd *command, arg string) error {
	return c.interruptible(func(ctx context.Context) error {
		return cmd.run(c, ctx, arg)
	})
}

// interruptible runs fn with a context that a Ctrl-C cancels.
func (c *controller) interruptible(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	fired := make(chan bool, 1)
	go func() {
		select {
		case <-c.p.Interrupt:
			cancel()
			fired <- true
		case <-stop:
			fired <- false
		}
	}()
	err := fn(ctx)
	close(stop)
	if <-fired && err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, errInterrupt)) {
		return errInterrupt
	}
	return err
}

// unknown is Python's Controller.default.
func (c *controller) unknown(line string) {
	c.output("*** Unknown syntax: " + line)
	c.exitStatus = exitGeneric
}

// supervisor returns a client of the server the options name now, as
// Python's getServerProxy does.
func (c *controller) supervisor() (*client.Client, error) {
	url := c.opts.serverURL
	switch {
	case strings.HasPrefix(url, "http://"):
		if err := checkPort(url); err != nil {
			return nil, err
		}
	case strings.HasPrefix(url, "unix://"):
	default:
		return nil, newPyException("ValueError", "Unknown protocol for serverurl "+url, srcUnknownProtocol, nil)
	}
	var user, pass string
	if c.opts.username.set && c.opts.password.set {
		user, pass = c.opts.username.val, c.opts.password.val
	}
	key := url + "\x00" + user + "\x00" + pass
	if c.rpc == nil || c.rpcKey != key {
		rpc, err := client.New(url, user, pass)
		if err != nil {
			return nil, err
		}
		c.rpc, c.rpcKey = rpc, key
	}
	return c.rpc, nil
}

// checkPort raises Python's ValueError for the port of an http:// URL
// that urllib cannot read.
func checkPort(url string) error {
	rest := strings.TrimPrefix(url, "http://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	var port string
	if _, bracketed, ok := strings.Cut(rest, "["); ok {
		_, after, _ := strings.Cut(bracketed, "]")
		_, port, _ = strings.Cut(after, ":")
	} else {
		_, port, _ = strings.Cut(rest, ":")
	}
	if port == "" {
		return nil
	}
	n := 0
	for _, r := range port {
		if r < '0' || r > '9' {
			return newPyException("ValueError", "Port could not be cast to integer value as "+pyRepr(port), srcPortCast, nil)
		}
		if n <= 65535 {
			n = n*10 + int(r-'0')
		}
	}
	if n > 65535 {
		return newPyException("ValueError", "Port out of range 0-65535", srcPortRange, nil)
	}
	return nil
}

// upcheck is Python's Controller.upcheck: it checks that the server speaks
// supervisor's API, saying what is wrong and setting the exit status when
// not. A false result with a nil error means "stop here quietly".
func (c *controller) upcheck(ctx context.Context) (bool, error) {
	s, err := c.supervisor()
	if err != nil {
		return false, err
	}
	api, err := s.Call(ctx, "supervisor.getVersion")
	if err != nil {
		if code, ok := client.FaultCode(err); ok {
			if code == client.FaultUnknownMethod {
				c.output("Sorry, supervisord responded but did not recognize the supervisor namespace commands " +
					"that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] " +
					"section is enabled in the configuration file (see sample.conf).")
				c.exitStatus = exitUnimplemented
				return false, nil
			}
			c.exitStatus = exitGeneric
			return false, err
		}
		var he *xmlrpc.HTTPError
		switch {
		case isErrno(err, syscall.ECONNREFUSED):
			c.output(c.opts.serverURL + " refused connection")
			c.exitStatus = exitNoPrivileges
			return false, nil
		case isErrno(err, syscall.ENOENT):
			c.output(c.opts.serverURL + " no such file")
			c.exitStatus = exitNotRunning
			return false, nil
		case errors.As(err, &he):
			// Not a socket.error: Python's upcheck lets it pass untouched.
			return false, err
		}
		c.exitStatus = exitGeneric
		return false, err
	}
	if s, ok := api.(string); !ok || s != client.APIVersion {
		c.outputf("Sorry, this version of supervisorctl expects to talk to a server with API version %s, "+
			"but the remote version is %s.", client.APIVersion, pyStr(api))
		c.exitStatus = exitNotInstalled
		return false, nil
	}
	return true, nil
}

// setExitFromFault is Python's set_exitstatus_from_xmlrpc_fault.
func (c *controller) setExitFromFault(code, ignored int) {
	switch code {
	case ignored, client.FaultSuccess:
	case client.FaultSpawnError, client.FaultAbnormalTermination, client.FaultNotRunning:
		c.exitStatus = exitNotRunning
	default:
		c.exitStatus = exitGeneric
	}
}

// noFault is an "ignored" fault code that matches nothing.
const noFault = -1

// pyStr is Python's str() of an XML-RPC value.
func pyStr(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

// makeNamespec is supervisor's make_namespec.
func makeNamespec(group, process string) string {
	if group == process {
		return process
	}
	return group + ":" + process
}

// splitNamespec is supervisor's split_namespec; hasProcess is false for
// "group:" and "group:*" (Python's None).
func splitNamespec(spec string) (group, process string, hasProcess bool) {
	if g, p, ok := strings.Cut(spec, ":"); ok {
		if p == "" || p == "*" {
			return g, "", false
		}
		return g, p, true
	}
	return spec, spec, true
}

// namespecOf is make_namespec(split_namespec(name)), which Python prints
// after a successful single-process action; a group spec prints as
// "group:None".
func namespecOf(name string) string {
	g, p, ok := splitNamespec(name)
	if !ok {
		p = "None"
	}
	return makeNamespec(g, p)
}

// faultOf returns the fault behind err, if it is one.
func faultOf(err error) (*xmlrpc.Fault, bool) {
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}

package ctl

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/internal/getopt"
)

const usageDoc = `supervisorctl -- control applications run by supervisord from the cmd line.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default "http://localhost:9001").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like "tail" or "stop".  If -i is specified or no action is
specified on the command line, a "shell" interpreting actions typed
interactively is started.  Use the action "help" to find out about available
actions.
`

var longOptions = []string{"help", "configuration=", "interactive", "serverurl=", "username=", "password=", "history_file="}

// optString is an option that Python holds as None until something sets
// it.
type optString struct {
	val string
	set bool
}

func some(s string) optString { return optString{s, true} }

// options are supervisorctl's settings once the command line and the
// configuration file are merged (Python's ClientOptions after realize).
type options struct {
	progname    string
	configFile  string // "" when none was found
	interactive bool
	serverURL   string
	username    optString
	password    optString
	prompt      string
	historyFile string // only from the file: -r is accepted and ignored, as in Python
	args        []string
}

// parseOptions realizes the options; done is true when the program must
// exit with status at once (help, usage errors).
func parseOptions(p *Program) (o *options, status int, done bool) {
	o = &options{progname: "supervisorctl"}
	if len(p.Args) > 0 {
		o.progname = p.Args[0]
	}
	usage := func(msg string) (*options, int, bool) {
		fmt.Fprintf(p.Stderr, "Error: %s\nFor help, use %s -h\n", msg, o.progname)
		return nil, exitInvalidArgs, true
	}
	var argv []string
	if len(p.Args) > 1 {
		argv = p.Args[1:]
	}
	parsed, rest, err := getopt.Parse(argv, "h?c:is:u:p:r:", longOptions)
	if err != nil {
		return usage(err.Error())
	}
	var (
		cmdConfig, cmdURL, cmdUser, cmdPass, cmdHistory optString
		cmdInteractive                                  bool
	)
	setOnce := func(dst *optString, val string) bool {
		if dst.set {
			return false
		}
		*dst = some(val)
		return true
	}
	for _, opt := range parsed {
		ok := true
		switch opt.Name {
		case "-h", "-?", "--help":
			fmt.Fprint(p.Stdout, strings.ReplaceAll(usageDoc, "%s", o.progname)+"\n")
			return nil, exitSuccess, true
		case "-c", "--configuration":
			ok = setOnce(&cmdConfig, opt.Value)
		case "-i", "--interactive":
			ok = !cmdInteractive
			cmdInteractive = true
		case "-s", "--serverurl":
			if msg := checkURL(opt.Value); msg != "" {
				return usage(fmt.Sprintf("invalid value for %s %s: %s", opt.Name, pyRepr(opt.Value), msg))
			}
			ok = setOnce(&cmdURL, opt.Value)
		case "-u", "--username":
			ok = setOnce(&cmdUser, opt.Value)
		case "-p", "--password":
			ok = setOnce(&cmdPass, opt.Value)
		case "-r", "--history_file":
			ok = setOnce(&cmdHistory, opt.Value)
		}
		if !ok {
			return usage(fmt.Sprintf("conflicting command line option %s", pyRepr(opt.Name)))
		}
	}
	o.args = rest
	o.configFile = cmdConfig.val
	if !cmdConfig.set {
		o.configFile = config.FindConfigFile(o.progname)
	}
	var file *config.Supervisorctl
	if o.configFile != "" {
		file, err = config.LoadCtl(o.configFile, p.Environ)
		var ce config.Errors
		switch {
		case errors.As(err, &ce):
			// Python's supervisorctl dies with a traceback here.
			fmt.Fprintf(p.Stderr, "%s\n", ce.Error())
			return nil, exitGeneric, true
		case err != nil:
			return usage(err.Error())
		}
	}
	o.interactive = cmdInteractive || len(o.args) == 0
	o.prompt = config.DefaultPrompt
	o.serverURL = config.DefaultServerURL
	if file != nil {
		o.prompt = file.Prompt
		o.serverURL = file.ServerURL
		if file.UsernameSet {
			o.username = some(file.Username)
		}
		if file.PasswordSet {
			o.password = some(file.Password)
		}
		o.historyFile = file.HistoryFile
	}
	if cmdURL.set {
		o.serverURL = cmdURL.val
	}
	if cmdUser.set {
		o.username = cmdUser
	}
	if cmdPass.set {
		o.password = cmdPass
	}
	return o, 0, false
}

// checkURL is supervisor's datatypes.url: "" when value is a URL, else
// Python's message.
func checkURL(value string) string {
	scheme, netloc, path, err := urlSplit(value)
	if err != nil {
		return err.Msg
	}
	if scheme != "" && (netloc != "" || path != "") {
		return ""
	}
	return fmt.Sprintf("value %s is not a URL", pyRepr(value))
}

// urlSplit is the part of Debian's Python 3.11 urllib.parse.urlsplit that
// supervisorctl depends on: the scheme, the netloc and what follows them
// (less query and fragment), or the ValueError Python raises for a
// malformed netloc.
func urlSplit(url string) (scheme, netloc, rest string, err *pyException) {
	url = strings.TrimLeft(url, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	url = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(url)
	if i := strings.IndexByte(url, ':'); i > 0 && isASCIILetter(url[0]) {
		ok := true
		for j := 0; j < i; j++ {
			c := url[j]
			if !(isASCIILetter(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
				ok = false
				break
			}
		}
		if ok {
			scheme, url = strings.ToLower(url[:i]), url[i+1:]
		}
	}
	if strings.HasPrefix(url, "//") {
		end := len(url)
		for _, c := range "/?#" {
			if k := strings.IndexRune(url[2:], c); k >= 0 && k+2 < end {
				end = k + 2
			}
		}
		netloc, url = url[2:end], url[end:]
		open, closed := strings.Contains(netloc, "["), strings.Contains(netloc, "]")
		if open != closed {
			return "", "", "", urlError("Invalid IPv6 URL", 514)
		}
		if open {
			if err := checkBracketedNetloc(netloc); err != nil {
				return "", "", "", err
			}
		}
	}
	if i := strings.IndexByte(url, '#'); i >= 0 {
		url = url[:i]
	}
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url = url[:i]
	}
	return scheme, netloc, url, nil
}

func urlError(msg string, line int) *pyException {
	return newPyException("ValueError", msg, [2]any{pythonLibDir + "/urllib/parse.py", line}, nil)
}

// checkBracketedNetloc is urllib's _check_bracketed_netloc.
func checkBracketedNetloc(netloc string) *pyException {
	hostPort := netloc
	if i := strings.LastIndexByte(hostPort, '@'); i >= 0 {
		hostPort = hostPort[i+1:]
	}
	before, bracketed, _ := strings.Cut(hostPort, "[")
	if before != "" {
		return urlError("Invalid IPv6 URL", 447)
	}
	host, port, _ := strings.Cut(bracketed, "]")
	if port != "" && !strings.HasPrefix(port, ":") {
		return urlError("Invalid IPv6 URL", 451)
	}
	if strings.HasPrefix(host, "v") {
		if !ipvFuture.MatchString(host) {
			return urlError("IPvFuture address is invalid", 461)
		}
		return nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return newPyException("ValueError", pyRepr(host)+" does not appear to be an IPv4 or IPv6 address",
			[2]any{pythonLibDir + "/ipaddress.py", 54}, nil)
	}
	if addr.Is4() {
		return urlError("An IPv4 address cannot be in brackets", 465)
	}
	return nil
}

var ipvFuture = regexp.MustCompile(`\Av[a-fA-F0-9]+\.(?s:.+)\z`)

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

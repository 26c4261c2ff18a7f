package env

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// MaxFileSecret bounds what a NAME_FILE may hold (a secret or a key list,
// not a data file).
const MaxFileSecret = 64 << 10

// Input is what the container was started with.
type Input struct {
	Environ []string // os.Environ()
	Args    []string // the arguments of init.sh / provisioner boot
	// ReadFile reads a NAME_FILE path (nil: the real file system, at most
	// MaxFileSecret bytes).
	ReadFile func(path string) ([]byte, error)
}

// Normalize builds the boot's environment from in. The returned warnings
// name a variable or an argument and say what is accepted; they never hold
// a value, since any value may be a secret.
func Normalize(in Input) (*Env, []string) {
	var warn []string
	e := Parse(in.Environ)
	args := New()
	for i, a := range in.Args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !ValidName(k) {
			warn = append(warn, fmt.Sprintf("argument %d is not NAME=VALUE with NAME made of letters, digits and _ (not starting with a digit); ignored", i+1))
			continue
		}
		e.Set(k, v)
		args.Set(k, v)
	}
	for _, k := range e.Names() {
		e.Set(k, unquote(e.Get(k)))
	}
	warn = append(warn, flagsToArgs(e)...)
	warn = append(warn, portHosts(e)...)
	readFile := in.ReadFile
	if readFile == nil {
		readFile = readBounded
	}
	warn = append(warn, fileSecrets(e, readFile)...)
	vastOpenButton(e)
	return e, warn
}

// unquote strips one pair of matching surrounding quotes and turns ___
// into a space: templates on Vast and RunPod cannot always pass spaces or
// quotes through to the container (ai-dock's init.sh did the same to
// every variable).
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.ReplaceAll(v, "___", " ")
}

// flagsToArgs copies X_FLAGS to X_ARGS (the name the services read) unless
// X_ARGS is set already.
func flagsToArgs(e *Env) []string {
	for _, k := range e.Names() {
		if base, ok := strings.CutSuffix(k, "_FLAGS"); ok && base != "" {
			if _, set := e.Lookup(base + "_ARGS"); !set {
				e.Set(base+"_ARGS", e.Get(k))
			}
		}
	}
	return nil
}

// portHosts replaces a *PORT_HOST of 70000 or more by the public port Vast
// or RunPod mapped it to: asking Vast for port 70000+n gets a random
// public port whose number arrives as VAST_TCP_PORT_<70000+n>.
func portHosts(e *Env) []string {
	var warn []string
	for _, k := range e.Names() {
		if !strings.HasSuffix(k, "PORT_HOST") {
			continue
		}
		raw := strings.TrimSpace(e.Get(k))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			warn = append(warn, fmt.Sprintf("%s is not a port number (1-65535, or 70000 and up for a port Vast/RunPod assign); left as it is", k))
			continue
		}
		if n < 70000 {
			if n > 65535 {
				warn = append(warn, fmt.Sprintf("%s is above 65535 and below 70000: not a port; left as it is", k))
			}
			continue
		}
		found := false
		for _, src := range []string{"VAST_TCP_PORT_", "VAST_UDP_PORT_", "RUNPOD_TCP_PORT_"} {
			if v := e.Get(src + raw); v != "" {
				e.Set(k, v)
				found = true
				break
			}
		}
		if !found {
			warn = append(warn, fmt.Sprintf("%s asks for an assigned port (%d), but none of VAST_TCP_PORT_%d, VAST_UDP_PORT_%d, RUNPOD_TCP_PORT_%d is set; left as it is", k, n, n, n, n))
		}
	}
	return warn
}

// fileNames are the non-secret variables that may also come from a file.
var fileNames = map[string]bool{
	"WEB_USER": true, "SSH_PUBKEY": true, "PUBLIC_KEY": true, "SSH_PUBLIC_KEY": true,
	"PROVISIONING_SCRIPT": true, "PROVISIONING_SCRIPT_SHA256": true,
}

// fileSecrets sets NAME from the file NAME_FILE names (Docker and
// Kubernetes secrets), for secret names and the few others in fileNames.
// Other *_FILE variables are ordinary settings (a config file's path) and
// are left alone. One final newline is dropped, as secret files usually
// end with one.
func fileSecrets(e *Env, readFile func(string) ([]byte, error)) []string {
	var warn []string
	for _, k := range e.Names() {
		name, ok := strings.CutSuffix(k, "_FILE")
		if !ok || name == "" || !(IsSecret(name) || fileNames[name]) {
			continue
		}
		path := e.Get(k)
		if path == "" {
			continue
		}
		b, err := readFile(path)
		if err != nil {
			warn = append(warn, fmt.Sprintf("%s: cannot read %s: %v; %s not set from it", k, path, unwrapPath(err), name))
			continue
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if strings.IndexByte(v, 0) >= 0 {
			warn = append(warn, fmt.Sprintf("%s: %s holds a NUL byte, which no environment variable can; %s not set from it", k, path, name))
			continue
		}
		if _, set := e.Lookup(name); set {
			warn = append(warn, fmt.Sprintf("%s and %s are both set; the file wins", name, k))
		}
		e.Set(name, v)
	}
	return warn
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSecret+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSecret {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSecret)
	}
	return b, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

var vastName = regexp.MustCompile(`(?i)vast`)

// OnVast reports whether the container runs on Vast with its Open button:
// OPEN_BUTTON_TOKEN set and some variable naming Vast (ai-dock's test).
func OnVast(e *Env) bool {
	if e.Get("OPEN_BUTTON_TOKEN") == "" {
		return false
	}
	for k, v := range e.vals {
		if vastName.MatchString(k) || vastName.MatchString(v) {
			return true
		}
	}
	return false
}

// vastOpenButton applies Vast's rules: the Open button's token is the web
// token and (unless one is chosen) the password, for the user vastai.
func vastOpenButton(e *Env) {
	if !OnVast(e) {
		return
	}
	tok := e.Get("OPEN_BUTTON_TOKEN")
	e.Default("WEB_TOKEN", tok)
	e.Default("WEB_USER", "vastai")
	if p := e.Get("WEB_PASSWORD"); p == "" || p == "password" {
		if e.Get("WEB_PASSWORD_HASH") == "" {
			e.Set("WEB_PASSWORD", tok)
		}
	}
}

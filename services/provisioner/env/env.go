// Package env turns what a container is started with (its environment and
// the KEY=VAL arguments of init.sh) into the environment of the boot, as
// ai-dock's init.sh did: arguments become variables, quotes and ___ are
// undone, Vast's and RunPod's names and ports are translated, NAME_FILE
// secrets are read. Every bad value is a Warning naming the variable and
// what is accepted; nothing here fails.
package env

import (
	"regexp"
	"sort"
	"strings"
)

// Env is a set of environment variables. The zero value is not usable:
// make one with New or Parse.
type Env struct {
	vals map[string]string
}

// New returns an empty Env.
func New() *Env { return &Env{vals: map[string]string{}} }

// Parse reads "NAME=VALUE" entries (os.Environ's form); entries without
// "=" are ignored, a later entry wins.
func Parse(environ []string) *Env {
	e := New()
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e.vals[k] = v
		}
	}
	return e
}

// Get returns the value of name ("" when unset).
func (e *Env) Get(name string) string { return e.vals[name] }

// Lookup returns the value of name and whether it is set.
func (e *Env) Lookup(name string) (string, bool) {
	v, ok := e.vals[name]
	return v, ok
}

// Set sets name to value.
func (e *Env) Set(name, value string) { e.vals[name] = value }

// Default sets name to value when it is unset or empty.
func (e *Env) Default(name, value string) {
	if e.vals[name] == "" {
		e.vals[name] = value
	}
}

// Unset removes name.
func (e *Env) Unset(name string) { delete(e.vals, name) }

// Names returns every name, sorted.
func (e *Env) Names() []string {
	names := make([]string, 0, len(e.vals))
	for k := range e.vals {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Environ returns "NAME=VALUE" entries sorted by name.
func (e *Env) Environ() []string {
	out := make([]string, 0, len(e.vals))
	for _, k := range e.Names() {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// Clone returns an independent copy.
func (e *Env) Clone() *Env {
	c := New()
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

// Bool reads name as a boolean the way ai-dock's scripts compared it:
// "true"/"false" (any case, also 1/0, yes/no, on/off); unset or empty is
// def. ok is false for any other value.
func (e *Env) Bool(name string, def bool) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(e.vals[name])) {
	case "":
		return def, true
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return def, false
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidName reports whether name can be a shell variable (and so an
// exported environment variable a script can read).
func ValidName(name string) bool { return validName.MatchString(name) }

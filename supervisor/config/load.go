package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options are the parts of the outside world a load depends on; the zero
// value means this process's own.
type Options struct {
	// Environ is the environment that %(ENV_X)s reads (os.Environ()).
	Environ []string
	// Hostname is %(host_node_name)s (os.Hostname()).
	Hostname string
}

// Load reads the configuration file at path and everything it includes.
// It returns Errors listing every problem when the configuration is
// invalid, and never a partial Config.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with an explicit environment and host name.
func LoadWith(path string, opts Options) (*Config, error) {
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	l := &loader{opts: opts, file: path, cfg: &Config{File: path}}
	l.load()
	if len(l.errs) > 0 {
		l.sortErrors()
		return nil, l.errs
	}
	if err := l.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("internal error: the loaded configuration is inconsistent: %w", err)
	}
	return l.cfg, nil
}

type loader struct {
	opts Options
	file string
	cfg  *Config
	doc  *iniDoc
	// order lists the included files in the order they were read.
	order []string
	// inProcess is set while a section's processes are expanded.
	inProcess bool
	// env holds ENV_ expansions: the process environment, then the
	// variables of [supervisord] environment.
	env  expansions
	errs Errors
}

// sortErrors puts errors in reading order: the main file, then included
// files as they were read, each by line.
func (l *loader) sortErrors() {
	rank := map[string]int{l.file: 0}
	for i, f := range l.order {
		rank[f] = i + 1
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		ra, oka := rank[a.File]
		rb, okb := rank[b.File]
		if !oka {
			ra = len(rank)
		}
		if !okb {
			rb = len(rank)
		}
		if ra != rb {
			return ra < rb
		}
		return a.Line < b.Line
	})
}

// fail records an error about an option of a section.
func (l *loader) fail(section, option string, v *iniValue, err error) {
	e := &Error{Section: section, Option: option, Msg: err.Error(), inProcess: l.inProcess}
	var ve *valueError
	if errors.As(err, &ve) {
		e.Hint = ve.Hint
	}
	var xe *expandError
	if errors.As(err, &xe) && xe.Missing == "" {
		e.Hint = "write %% for a literal %"
	}
	l.place(e, section, v)
	l.errs = append(l.errs, e)
}

// warn records a warning about a section (option may be empty).
func (l *loader) warn(section, option string, v *iniValue, format string, args ...any) {
	e := &Error{Section: section, Option: option, Msg: fmt.Sprintf(format, args...)}
	l.place(e, section, v)
	l.cfg.Warnings = append(l.cfg.Warnings, e)
}

func (l *loader) place(e *Error, section string, v *iniValue) {
	switch {
	case v != nil:
		e.File, e.Line, e.Value = v.at.File, v.at.Line, v.text
		if e.Option == "" {
			e.Value = ""
		}
	case l.doc != nil && l.doc.has(section):
		s := l.doc.byName[section]
		e.File, e.Line, e.NoValue = s.at.File, s.at.Line, true
	default:
		e.File = l.file
	}
}

func (l *loader) load() {
	here, err := filepath.Abs(filepath.Dir(l.file))
	if err != nil {
		here = filepath.Dir(l.file)
	}
	l.cfg.Here = here
	data, err := readConfigFile(l.file)
	if err != nil {
		l.errs = append(l.errs, &Error{File: l.file, Msg: err.Error()})
		return
	}
	l.env = expansions{}
	for _, kv := range l.opts.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			l.env["ENV_"+k] = v
		}
	}
	l.doc = newIniDoc()
	if err := l.doc.read(l.file, data); err != nil {
		l.syntaxFail(err)
		return
	}
	l.ctl(l.doc) // before the includes are merged in
	if l.doc.has("include") {
		l.includes(here)
		if len(l.errs) > 0 {
			return // syntax errors in included files
		}
	}
	if !l.doc.has("supervisord") {
		l.errs = append(l.errs, &Error{File: l.file, Msg: ".ini file does not include supervisord section",
			Hint: "add a [supervisord] section, even an empty one"})
	}
	l.supervisord(here)
	l.rpcInterfaces()
	l.groups(here)
	if len(l.errs) == 0 {
		l.checkDependencies()
	}
	for _, g := range l.cfg.Groups {
		for _, p := range g.Processes {
			env := append(Environment(nil), l.cfg.Supervisord.Environment...)
			for _, v := range p.Environment {
				env.Set(v.Key, v.Value)
			}
			p.Environment = env
		}
	}
	l.servers(here)
}

func readConfigFile(path string) ([]byte, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("could not find config file %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read config file %s: %w", path, err)
	}
	return data, nil
}

func (l *loader) syntaxFail(err error) {
	var se *syntaxError
	if !errors.As(err, &se) {
		l.errs = append(l.errs, &Error{File: l.file, Msg: err.Error(), Hint: "save the file as UTF-8"})
		return
	}
	for _, line := range se.Lines {
		e := &Error{File: se.File, Line: line.Line, python: se.Error()}
		text := strings.TrimRight(line.Text, "\n")
		switch {
		case strings.HasPrefix(text, "\ufeff"):
			e.Msg = "File contains no section headers: the file starts with a byte order mark"
			e.Hint = "save the file as UTF-8 without BOM"
		case se.Header:
			e.Msg = fmt.Sprintf("File contains no section headers: %s comes before any [section]", pyRepr(text))
			e.Hint = "start the file with a section header such as [supervisord] or [program:name]"
		default:
			e.Msg = fmt.Sprintf("Source contains parsing errors: %s is not a section header, an option or a comment", pyRepr(text))
			e.Hint = "write key=value or key: value; indent a line to continue the previous value"
		}
		l.errs = append(l.errs, e)
	}
}

// expandedGet is supervisor's saneget: the option's value (or def when it is
// unset) expanded with the ENV_ names plus exp. set reports whether the
// option was written; ok is false when expansion failed (already recorded).
func (l *loader) expandedGet(section, opt string, def *string, exp expansions) (val string, v *iniValue, set, ok bool) {
	v, set = l.doc.get(section, opt)
	switch {
	case set:
		val = v.text
	case def != nil:
		val = *def
	default:
		return "", nil, false, true
	}
	if strings.IndexByte(val, '%') < 0 {
		return val, v, set, true // nothing to expand: skip the allocations
	}
	out, err := expand(val, l.env.over(exp), section+"."+opt)
	if err != nil {
		l.fail(section, opt, v, err)
		return "", v, set, false
	}
	return out, v, set, true
}

func ptr[T any](v T) *T { return &v }

// typed reads an option with a parser; def is the default as Python writes
// it (parsed too, as Python does).
func typed[T any](l *loader, section, opt, def string, exp expansions, parse func(string) (T, error)) (T, bool) {
	var zero T
	s, v, _, ok := l.expandedGet(section, opt, &def, exp)
	if !ok {
		return zero, false
	}
	out, err := parse(s)
	if err != nil {
		l.fail(section, opt, v, err)
		return zero, false
	}
	return out, true
}

func intOf(s string) (int, error) {
	n, err := parseInt(s)
	return int(n), err
}

func octalOf(s string) (int, error) {
	n, err := parseOctal(s)
	return int(n), err
}

// ctl reads [supervisorctl] from the main file alone, as supervisorctl does
// (it does not follow [include]): doc must be the main file's alone. Its
// problems are warnings for supervisord.
func (l *loader) ctl(doc *iniDoc) {
	if !doc.has("supervisorctl") {
		return
	}
	here := filepath.Dir(normalizePath(l.file))
	sub := &loader{opts: l.opts, file: l.file, cfg: &Config{}, doc: doc, env: l.env}
	const sec = "supervisorctl"
	c := &Supervisorctl{}
	hereExp := expansions{"here": here}
	var v *iniValue
	c.ServerURL, v, _, _ = sub.expandedGet(sec, "serverurl", ptr(DefaultServerURL), hereExp)
	_ = v
	if rest, ok := strings.CutPrefix(c.ServerURL, "unix://"); ok {
		c.ServerURL = "unix://" + normalizePath(rest)
	}
	c.Prompt, _, _, _ = sub.expandedGet(sec, "prompt", ptr(DefaultPrompt), nil)
	c.Username, _, c.UsernameSet, _ = sub.expandedGet(sec, "username", nil, nil)
	c.Password, _, c.PasswordSet, _ = sub.expandedGet(sec, "password", nil, nil)
	hist, _, _, _ := sub.expandedGet(sec, "history_file", nil, hereExp)
	if hist != "" {
		c.HistoryFile = normalizePath(hist)
	}
	if len(sub.errs) > 0 {
		for _, e := range sub.errs {
			e.Msg = "supervisorctl will refuse this file: " + e.Msg
			l.cfg.Warnings = append(l.cfg.Warnings, e)
		}
		return
	}
	l.cfg.Supervisorctl = c
}

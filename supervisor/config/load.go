package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
	l.ctl(data)
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
	out, err := expand(val, l.env.with(exp), section+"."+opt)
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
// (it does not follow [include]). Its problems are warnings for supervisord.
func (l *loader) ctl(data []byte) {
	doc := newIniDoc()
	if doc.read(l.file, data) != nil || !doc.has("supervisorctl") {
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

func (l *loader) includes(here string) {
	const sec = "include"
	l.doc.expandHere(here)
	v, ok := l.doc.get(sec, "files")
	if !ok {
		l.errs = append(l.errs, &Error{File: l.file, Line: l.doc.byName[sec].at.Line, Section: sec, Option: "files", NoValue: true,
			Msg: ".ini file has [include] section, but no files setting", Hint: "add files = conf.d/*.conf"})
		return
	}
	base := expansions{"here": here, "host_node_name": l.opts.Hostname}
	files, err := expand(v.text, l.env.with(base), "include.files")
	if err != nil {
		l.fail(sec, "files", v, err)
		return
	}
	includeFrom := v.at.File
	firstFile := map[string]string{}
	for _, s := range l.doc.sections {
		firstFile[s.name] = l.file
	}
	for _, pat := range strings.FieldsFunc(files, pyIsSpace) {
		pattern := pyJoin(here, pat)
		l.cfg.IncludePatterns = append(l.cfg.IncludePatterns, pattern)
		matches := pyGlob(pattern)
		if len(matches) == 0 {
			l.warn(sec, "files", v, "No file matches via include \"%s\"", pattern)
			continue
		}
		for _, name := range matches {
			data, err := os.ReadFile(name)
			if err != nil {
				l.warn(sec, "files", v, "could not read included file %s, skipped as supervisor does: %v", name, err)
				continue
			}
			l.order = append(l.order, name)
			before := len(l.doc.sections)
			seen := map[string]bool{}
			for _, s := range l.doc.sections {
				seen[s.name] = true
			}
			if err := l.doc.read(name, data); err != nil {
				l.syntaxFail(err)
				continue
			}
			l.cfg.Included = append(l.cfg.Included, name)
			for _, s := range l.doc.sections[before:] {
				l.doc.sectionFile[s.name] = name
				firstFile[s.name] = name
			}
			for _, line := range sectionHeadersIn(data) {
				if seen[line] && line != sec && firstFile[line] != name {
					l.warn(line, "", nil, "section [%s] in %s was already defined in %s; its options are merged, later ones win (as supervisor does)", line, name, firstFile[line])
				}
			}
			if fv, ok := l.doc.get(sec, "files"); ok && fv.at.File != includeFrom {
				includeFrom = fv.at.File
				l.warn(sec, "files", fv, "[include] in an included file is ignored: includes do not nest")
			}
			l.doc.expandHere(filepath.Dir(absPath(name)))
		}
	}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// sectionHeadersIn lists the section names a file's text declares.
func sectionHeadersIn(data []byte) []string {
	var out []string
	for _, line := range splitLines(string(data)) {
		cs := commentStart(line)
		v := line
		if cs >= 0 {
			v = line[:cs]
		}
		if indentOf(line) == 0 {
			if h, ok := sectionHeader(pyStrip(v)); ok && h != defaultSection {
				out = append(out, h)
			}
		}
	}
	return out
}

func (l *loader) supervisord(here string) {
	const sec = "supervisord"
	s := &l.cfg.Supervisord
	exp := expansions{"here": here}
	str := func(opt, def string) (string, *iniValue, bool) {
		val, v, _, ok := l.expandedGet(sec, opt, &def, exp)
		return val, v, ok
	}
	s.MinFDs, _ = typed(l, sec, "minfds", "1024", exp, intOf)
	s.MinProcs, _ = typed(l, sec, "minprocs", "200", exp, intOf)
	if dir, v, set, ok := l.expandedGet(sec, "directory", nil, exp); set && ok {
		d, err := existingDirectory(dir)
		if err != nil {
			l.fail(sec, "directory", v, err)
		}
		s.Directory = d
	}
	s.UID = -1
	userVal, userV, userSet, _ := l.expandedGet(sec, "user", nil, exp)
	s.Umask, _ = typed(l, sec, "umask", "022", exp, octalOf)
	s.Logfile, _ = typed(l, sec, "logfile", DefaultLogfile, exp, existingDirpath)
	s.LogfileMaxBytes, _ = typed(l, sec, "logfile_maxbytes", "50MB", exp, parseByteSize)
	s.LogfileBackups, _ = typed(l, sec, "logfile_backups", "10", exp, intOf)
	s.LogLevel, _ = typed(l, sec, "loglevel", "info", exp, parseLogLevel)
	s.Pidfile, _ = typed(l, sec, "pidfile", DefaultPidfile, exp, existingDirpath)
	s.Identifier, _, _ = str("identifier", DefaultIdentifier)
	s.Nodaemon, _ = typed(l, sec, "nodaemon", "false", exp, parseBool)
	s.Silent, _ = typed(l, sec, "silent", "false", exp, parseBool)
	s.ChildLogDir, _ = typed(l, sec, "childlogdir", DefaultChildLogDir(l.opts.Environ), exp, existingDirectory)
	s.NoCleanup, _ = typed(l, sec, "nocleanup", "false", exp, parseBool)
	s.StripANSI, _ = typed(l, sec, "strip_ansi", "false", exp, parseBool)
	s.WatchConfig, _ = typed(l, sec, "watch_config", "false", exp, parseBool)

	// environment is expanded twice: once as every option, then again with
	// host_node_name added (so a literal % needs %%%% here).
	envStr, envV, _, ok := l.expandedGet(sec, "environment", ptr(""), exp)
	if ok {
		second := l.env.with(expansions{"here": here, "host_node_name": l.opts.Hostname})
		envStr, err := expand(envStr, second, "environment")
		if err != nil {
			l.fail(sec, "environment", envV, err)
		} else if env, err := parseEnvironment(envStr); err != nil {
			l.fail(sec, "environment", envV, err)
		} else {
			s.Environment = env
			l.env = l.env.clone()
			for _, kv := range env {
				l.env["ENV_"+kv.Key] = kv.Value
			}
		}
	}
	// As Python: an empty logfile or pidfile normalizes to the current
	// directory (which then fails to open at start).
	if s.Logfile != "syslog" {
		s.Logfile = normalizePath(s.Logfile)
	}
	s.Pidfile = normalizePath(s.Pidfile)
	if userSet {
		s.User = userVal
		uid, err := lookupUID(userVal)
		if err != nil {
			l.fail(sec, "user", userV, err)
		}
		s.UID = uid
	}
}

func (l *loader) rpcInterfaces() {
	const key = "supervisor.rpcinterface_factory"
	for _, s := range l.doc.sections {
		name, ok := strings.CutPrefix(s.name, "rpcinterface:")
		if !ok {
			continue
		}
		spec, v, set, ok := l.expandedGet(s.name, key, nil, nil)
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name,
				Msg:  fmt.Sprintf("section [%s] does not specify a %s", s.name, key),
				Hint: key + " = " + MainRPCInterface})
			continue
		}
		if spec != MainRPCInterface {
			l.fail(s.name, key, v, badValue("only "+MainRPCInterface+" is built in; Python plug-ins cannot run here",
				"%s cannot be resolved within [%s]", spec, s.name))
			continue
		}
		extras := map[string]string{}
		for _, k := range l.doc.options(s.name) {
			if k == key {
				continue
			}
			if val, _, _, ok := l.expandedGet(s.name, k, nil, nil); ok {
				extras[k] = val
			}
		}
		l.cfg.RPCInterfaces = append(l.cfg.RPCInterfaces, RPCInterface{Name: name, Factory: spec, Extras: extras})
	}
}

func (l *loader) groups(here string) {
	exp := expansions{"here": here}
	var groups []*Group
	exclude := map[string]bool{}
	has := func(section string) bool { return l.doc.has(section) }

	for _, s := range l.doc.sections {
		gname, ok := strings.CutPrefix(s.name, "group:")
		if !ok {
			continue
		}
		name, err := parseName(gname)
		if err != nil {
			l.fail(s.name, "", nil, err)
			continue
		}
		progs, pv, _, ok1 := l.expandedGet(s.name, "programs", nil, exp)
		prio, ok2 := typed(l, s.name, "priority", "999", exp, intOf)
		if !ok1 || !ok2 {
			continue
		}
		g := &Group{Name: name, Kind: KindProcess, Priority: prio, Section: s.name, At: s.at}
		good := true
		for _, prog := range parseListOfStrings(progs) {
			ps, fs := "program:"+prog, "fcgi-program:"+prog
			switch {
			case !has(ps) && !has(fs):
				l.fail(s.name, "programs", pv, badValue("name a [program:x] or [fcgi-program:x] section defined in this configuration",
					"[%s] names unknown program or fcgi-program %s", s.name, prog))
				good = false
				continue
			case has(ps) && has(fs):
				l.fail(s.name, "programs", pv, badValue("rename one of the two sections",
					"[%s] name %s is ambiguous (exists as program and fcgi-program)", s.name, prog))
				good = false
				continue
			}
			member := ps
			if !has(ps) {
				member = fs
			}
			exclude[member] = true
			g.Processes = append(g.Processes, l.processes(member, name, KindProcess)...)
		}
		if good {
			groups = append(groups, g)
		}
	}

	for _, s := range l.doc.sections {
		pname, ok := strings.CutPrefix(s.name, "program:")
		if !ok || exclude[s.name] {
			continue
		}
		name, err := parseName(pname)
		if err != nil {
			l.fail(s.name, "", nil, err)
			continue
		}
		prio, ok := typed(l, s.name, "priority", "999", exp, intOf)
		if !ok {
			continue
		}
		ps := l.processes(s.name, name, KindProcess)
		groups = append(groups, &Group{Name: name, Kind: KindProcess, Priority: prio, Processes: ps, Section: s.name, At: s.at})
	}

	for _, s := range l.doc.sections {
		pool, ok := strings.CutPrefix(s.name, "eventlistener:")
		if !ok {
			continue
		}
		if g := l.listener(s, pool, exp); g != nil {
			groups = append(groups, g)
		}
	}

	for _, s := range l.doc.sections {
		pname, ok := strings.CutPrefix(s.name, "fcgi-program:")
		if !ok || exclude[s.name] {
			continue
		}
		if g := l.fcgi(s, pname, exp); g != nil {
			groups = append(groups, g)
		}
	}

	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].Priority != groups[j].Priority {
			return groups[i].Priority < groups[j].Priority
		}
		return groups[i].Name < groups[j].Name
	})
	seen := map[string]*Group{}
	for _, g := range groups {
		if first, dup := seen[g.Name]; dup {
			l.warn(g.Section, "", nil, "group %s is also defined by [%s]; supervisord will use only one of them", g.Name, first.Section)
			continue
		}
		seen[g.Name] = g
		names := map[string]bool{}
		for _, p := range g.Processes {
			if names[p.Name] {
				l.warn(p.Section, "", nil, "process name %s appears twice in group %s; supervisord keeps only the last", p.Name, g.Name)
			}
			names[p.Name] = true
		}
	}
	l.cfg.Groups = groups
}

func sortProcesses(ps []*Process) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Priority != ps[j].Priority {
			return ps[i].Priority < ps[j].Priority
		}
		return ps[i].Name < ps[j].Name
	})
}

// eventTypes are the event type names a listener may subscribe to.
var eventTypes = map[string]bool{
	"EVENT": true, "PROCESS_STATE": true, "PROCESS_STATE_STOPPED": true,
	"PROCESS_STATE_EXITED": true, "PROCESS_STATE_STARTING": true,
	"PROCESS_STATE_STOPPING": true, "PROCESS_STATE_BACKOFF": true,
	"PROCESS_STATE_FATAL": true, "PROCESS_STATE_RUNNING": true,
	"PROCESS_STATE_UNKNOWN": true, "PROCESS_COMMUNICATION": true,
	"PROCESS_COMMUNICATION_STDOUT": true, "PROCESS_COMMUNICATION_STDERR": true,
	"PROCESS_LOG": true, "PROCESS_LOG_STDOUT": true, "PROCESS_LOG_STDERR": true,
	"REMOTE_COMMUNICATION": true, "SUPERVISOR_STATE_CHANGE": true,
	"SUPERVISOR_STATE_CHANGE_RUNNING": true, "SUPERVISOR_STATE_CHANGE_STOPPING": true,
	"TICK": true, "TICK_5": true, "TICK_60": true, "TICK_3600": true,
	"PROCESS_GROUP": true, "PROCESS_GROUP_ADDED": true, "PROCESS_GROUP_REMOVED": true,
}

// EventTypeNames returns every event type name, sorted.
func EventTypeNames() []string {
	var out []string
	for n := range eventTypes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (l *loader) listener(s *iniSection, pool string, exp expansions) *Group {
	g := &Group{Name: pool, Kind: KindEventListener, Section: s.name, At: s.at}
	ok := true
	var good bool
	g.Priority, good = typed(l, s.name, "priority", "-1", exp, intOf)
	ok = ok && good
	g.BufferSize, good = typed(l, s.name, "buffer_size", "10", exp, intOf)
	ok = ok && good
	if good && g.BufferSize < 1 {
		v, _ := l.doc.get(s.name, "buffer_size")
		l.fail(s.name, "buffer_size", v, badValue("use 1 or more", "[%s] section sets invalid buffer_size (%d)", s.name, g.BufferSize))
		ok = false
	}
	handler, hv, _, good := l.expandedGet(s.name, "result_handler", ptr(DefaultResultHandler), exp)
	ok = ok && good
	if good && handler != DefaultResultHandler {
		l.fail(s.name, "result_handler", hv, badValue("only "+DefaultResultHandler+" is built in",
			"%s cannot be resolved within [%s]", handler, s.name))
		ok = false
	}
	g.ResultHandler = handler
	events, ev, _, good := l.expandedGet(s.name, "events", ptr(""), exp)
	ok = ok && good
	if good {
		set := map[string]bool{}
		for _, e := range parseListOfStrings(events) {
			set[strings.ToUpper(e)] = true
		}
		if len(set) == 0 {
			l.fail(s.name, "events", ev, badValue("e.g. events = PROCESS_STATE", "[%s] section requires an \"events\" line", s.name))
			ok = false
		}
		for e := range set {
			if !eventTypes[e] {
				l.fail(s.name, "events", ev, badValue("known types: "+strings.Join(EventTypeNames(), ", "),
					"Unknown event type %s in [%s] events", e, s.name))
				ok = false
			}
			g.Events = append(g.Events, e)
		}
		sort.Strings(g.Events)
	}
	redirect, good := typed(l, s.name, "redirect_stderr", "false", exp, parseBool)
	ok = ok && good
	if redirect {
		v, _ := l.doc.get(s.name, "redirect_stderr")
		l.fail(s.name, "redirect_stderr", v, badValue("remove redirect_stderr from event listeners",
			"[%s] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol", s.name))
		ok = false
	}
	g.Processes = l.processes(s.name, pool, KindEventListener)
	if !ok {
		return nil
	}
	return g
}

func (l *loader) fcgi(s *iniSection, pname string, exp expansions) *Group {
	name, err := parseName(pname)
	if err != nil {
		l.fail(s.name, "", nil, err)
		return nil
	}
	g := &Group{Name: name, Kind: KindFCGI, Section: s.name, At: s.at}
	ok := true
	var good bool
	g.Priority, good = typed(l, s.name, "priority", "999", exp, intOf)
	ok = ok && good
	procUID := -1
	if u, v, set, good := l.expandedGet(s.name, "user", nil, exp); set && good {
		uid, err := lookupUID(u)
		if err != nil {
			l.fail(s.name, "user", v, err)
			ok = false
		}
		procUID = uid
	}
	sock := &FCGISocket{Mode: -1, OwnerUID: -1, OwnerGID: -1}
	if b, v, set, good := l.expandedGet(s.name, "socket_backlog", nil, exp); set && good {
		n, err := parseInt(b)
		if err != nil {
			l.fail(s.name, "socket_backlog", v, err)
			ok = false
		} else if n < 1 || n > 65535 {
			l.fail(s.name, "socket_backlog", v, badValue("use 1 to 65535", "Invalid socket_backlog value %d", n))
			ok = false
		}
		sock.Backlog = int(n)
	}
	ownerSet, modeSet := false, false
	if o, v, set, good := l.expandedGet(s.name, "socket_owner", nil, exp); set && good {
		uid, gid, err := parseUserGroup(o)
		if err != nil {
			l.fail(s.name, "socket_owner", v, badValue("use user or user:group", "Invalid socket_owner value %s", o))
			ok = false
		}
		sock.OwnerUID, sock.OwnerGID, ownerSet = uid, gid, true
	}
	if m, v, set, good := l.expandedGet(s.name, "socket_mode", nil, exp); set && good {
		mode, err := octalOf(m)
		if err != nil {
			l.fail(s.name, "socket_mode", v, badValue(hintOctal, "Invalid socket_mode value %s", m))
			ok = false
		}
		sock.Mode, modeSet = mode, true
	}
	url, uv, _, good := l.expandedGet(s.name, "socket", nil, exp.with(expansions{"program_name": name}))
	switch {
	case !good:
		ok = false
	case url == "":
		l.fail(s.name, "socket", uv, badValue(hintUnixSock, "[%s] section requires a \"socket\" line", s.name))
		ok = false
	default:
		if err := parseFCGISocket(url, sock, procUID, ownerSet, modeSet); err != nil {
			l.fail(s.name, "socket", uv, badValue(hintUnixSock, "%s in [%s] socket", err, s.name))
			ok = false
		}
	}
	g.Socket = sock
	g.Processes = l.processes(s.name, name, KindFCGI)
	if !ok {
		return nil
	}
	return g
}

func parseFCGISocket(url string, sock *FCGISocket, procUID int, ownerSet, modeSet bool) error {
	if path, ok := strings.CutPrefix(url, "unix://"); ok {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("Unix socket path %s is not an absolute path", path)
		}
		sock.Path = normalizePath(path)
		sock.URL = "unix://" + sock.Path
		if !ownerSet && procUID >= 0 && procUID != os.Getuid() {
			gid, err := primaryGID(procUID)
			if err == nil {
				sock.OwnerUID, sock.OwnerGID = procUID, gid
			}
		}
		if !modeSet {
			sock.Mode = DefaultSocketMode
		}
		return nil
	}
	if ownerSet || modeSet {
		return errors.New("socket_owner and socket_mode params should only be used with a Unix domain socket")
	}
	rest, ok := strings.CutPrefix(url, "tcp://")
	if ok {
		i := strings.LastIndexByte(rest, ':')
		if i > 0 && !strings.ContainsAny(rest[:i], ": \t\n\r\f\v") && rest[i+1:] != "" {
			if p, err := strconv.Atoi(rest[i+1:]); err == nil && strings.Trim(rest[i+1:], "0123456789") == "" {
				if p < 1 || p > 0xffff {
					if p < 1 {
						return fmt.Errorf("%d is below lower bound (1)", p)
					}
					return fmt.Errorf("%d is above upper bound (65535)", p)
				}
				sock.Host, sock.Port = strings.ToLower(rest[:i]), p
				sock.URL = fmt.Sprintf("tcp://%s:%d", sock.Host, p)
				return nil
			}
		}
	}
	return fmt.Errorf("Bad socket format %s", url)
}

// processes expands one program-like section into its processes, as
// supervisor's _processes_from_section does, option by option.
func (l *loader) processes(section, group string, kind GroupKind) []*Process {
	l.inProcess = true
	defer func() { l.inProcess = false }()
	s := l.doc.byName[section]
	_, rawName, _ := strings.Cut(section, ":")
	program, err := parseName(rawName)
	if err != nil {
		l.fail(section, "", nil, err)
		return nil
	}
	// common is mutated by the numprocs loop below, exactly as supervisor
	// mutates its dict: later options see process_num and program ENV_ names.
	common := expansions{"here": l.cfg.Here, "program_name": program,
		"host_node_name": l.opts.Hostname, "group_name": group}
	errsBefore := len(l.errs)
	p := &Process{Program: program, Group: group, Section: section, At: s.at, UID: -1, Umask: -1}
	get := func(opt, def string, parse func(string) error) {
		val, v, _, ok := l.expandedGet(section, opt, &def, common)
		if !ok {
			return
		}
		if err := parse(val); err != nil {
			l.fail(section, opt, v, err)
		}
	}
	set := func(dst any) func(string) error {
		return func(s string) error {
			var err error
			switch d := dst.(type) {
			case *int:
				*d, err = intOf(s)
			case *bool:
				*d, err = parseBool(s)
			case *int64:
				*d, err = parseByteSize(s)
			}
			return err
		}
	}
	get("priority", "999", set(&p.Priority))
	get("autostart", "true", set(&p.Autostart))
	get("autorestart", "unexpected", func(s string) (err error) { p.Autorestart, err = parseAutorestart(s); return })
	get("startsecs", "1", set(&p.StartSecs))
	get("startretries", "3", set(&p.StartRetries))
	get("stopsignal", "TERM", func(s string) (err error) { p.StopSignal, err = parseSignal(s); return })
	get("stopwaitsecs", "10", set(&p.StopWaitSecs))
	get("stopasgroup", "false", set(&p.StopAsGroup))
	get("killasgroup", strconv.FormatBool(p.StopAsGroup), set(&p.KillAsGroup))
	get("exitcodes", "0", func(s string) (err error) { p.ExitCodes, err = parseExitCodes(s); return })
	get("redirect_stderr", "false", set(&p.RedirectStderr))
	numprocs, numStart := 1, 0
	get("numprocs", "1", set(&numprocs))
	get("numprocs_start", "0", set(&numStart))
	envV, _ := l.doc.get(section, "environment")
	envStr := ""
	if envV != nil {
		envStr = envV.text
	}
	get("stdout_capture_maxbytes", "0", set(&p.Stdout.CaptureMaxBytes))
	get("stdout_events_enabled", "false", set(&p.Stdout.EventsEnabled))
	get("stderr_capture_maxbytes", "0", set(&p.Stderr.CaptureMaxBytes))
	get("stderr_events_enabled", "false", set(&p.Stderr.EventsEnabled))
	if url, _, set, ok := l.expandedGet(section, "serverurl", nil, common); set && ok && strings.ToUpper(pyStrip(url)) != "AUTO" {
		p.ServerURL = ptr(url)
	}
	if u, v, set, ok := l.expandedGet(section, "user", nil, common); set && ok {
		p.User = u
		uid, err := lookupUID(u)
		if err != nil {
			l.fail(section, "user", v, err)
		}
		p.UID = uid
	}
	if u, v, set, ok := l.expandedGet(section, "umask", nil, common); set && ok {
		m, err := octalOf(u)
		if err != nil {
			l.fail(section, "umask", v, err)
		}
		p.Umask = m
	}
	nameV, _ := l.doc.get(section, "process_name")
	nameTmpl := "%(program_name)s"
	if nameV != nil {
		nameTmpl = nameV.text
	}
	nameTmpl, err = parseName(nameTmpl)
	if err != nil {
		l.fail(section, "process_name", nameV, err)
		return nil
	}
	if numprocs > 1 && !strings.Contains(nameTmpl, "%(process_num)") {
		l.fail(section, "process_name", nameV, badValue("e.g. process_name=%(program_name)s_%(process_num)02d",
			"%%(process_num) must be present within process_name when numprocs > 1"))
		return nil
	}
	if p.StopAsGroup && !p.KillAsGroup {
		v, _ := l.doc.get(section, "killasgroup")
		l.fail(section, "killasgroup", v, badValue("set killasgroup=true, or remove it", "Cannot set stopasgroup=true and killasgroup=false"))
	}
	if len(l.errs) > errsBefore {
		// Values the processes depend on are bad; the rest would only
		// repeat the same problems once per process.
		return nil
	}

	var out []*Process
	for num := numStart; num < numStart+numprocs; num++ {
		q := *p
		q.ExitCodes = append([]int{}, p.ExitCodes...)
		q.ProcessNum, q.NumProcs = num, numprocs
		common["process_num"] = int64(num)
		common["numprocs"] = int64(numprocs)
		for k, v := range l.env {
			common[k] = v
		}
		if env, ok := l.programEnvironment(section, envV, envStr, common); ok {
			q.Environment = env
			for _, kv := range env {
				common["ENV_"+kv.Key] = kv.Value
			}
		}
		if dir, _, set, ok := l.expandedGet(section, "directory", nil, common); set && ok {
			q.Directory = ptr(dir)
		}
		q.Stdout = l.outputLog(section, "stdout", p.Stdout, common)
		q.Stderr = l.outputLog(section, "stderr", p.Stderr, common)
		if q.RedirectStderr {
			if q.Stderr.Kind == LogFile {
				v, _ := l.doc.get(section, "stderr_logfile")
				l.warn(section, "stderr_logfile", v, "For [%s], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored", section)
			}
			q.Stderr.Kind, q.Stderr.Path = LogNone, ""
		}
		cmd, _, cmdSet, ok := l.expandedGet(section, "command", nil, common)
		if ok && !cmdSet {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: section, Option: "command", NoValue: true, inProcess: true,
				Msg:  fmt.Sprintf("program section %s does not specify a command", section),
				Hint: "add command=/path/to/program --args"})
		}
		q.Command = cmd
		name, err := expand(nameTmpl, common, "process_name")
		if err != nil {
			l.fail(section, "process_name", nameV, err)
		}
		q.Name = name
		if len(l.errs) > errsBefore {
			return nil
		}
		out = append(out, &q)
	}
	sortProcesses(out)
	return out
}

func (l *loader) programEnvironment(section string, v *iniValue, raw string, exp expansions) (Environment, bool) {
	s, err := expand(raw, exp, "environment")
	if err != nil {
		l.fail(section, "environment", v, err)
		return nil, false
	}
	env, err := parseEnvironment(s)
	if err != nil {
		l.fail(section, "environment", v, err)
		return nil, false
	}
	return env, true
}

// outputLog reads the logfile options of one stream. The logfile value is
// expanded twice, as supervisor does.
func (l *loader) outputLog(section, stream string, base OutputLog, exp expansions) OutputLog {
	o := base
	key := stream + "_logfile"
	if val, v, set, ok := l.expandedGet(section, key, nil, exp); !set {
		o.Kind = LogAuto
	} else if ok {
		val, err := expand(val, exp, key)
		if err != nil {
			l.fail(section, key, v, err)
		} else {
			switch strings.ToLower(val) {
			case "none", "off":
				o.Kind = LogNone
			case "auto":
				o.Kind = LogAuto
			case "syslog":
				l.warn(section, key, v, "For [%s], %s=syslog but this is deprecated and will be removed.  Use %s_syslog=true to enable syslog instead.", section, key, stream)
				o.Kind = LogNone
				o.Syslog = true
			default:
				path, err := existingDirpath(val)
				if err != nil {
					l.fail(section, key, v, err)
				}
				o.Kind, o.Path = LogFile, path
			}
		}
	}
	get := func(opt, def string, parse func(string) error) {
		val, v, _, ok := l.expandedGet(section, opt, &def, exp)
		if ok {
			if err := parse(val); err != nil {
				l.fail(section, opt, v, err)
			}
		}
	}
	get(stream+"_logfile_backups", "10", func(s string) (err error) { o.Backups, err = intOf(s); return })
	get(stream+"_logfile_maxbytes", "50MB", func(s string) (err error) { o.MaxBytes, err = parseByteSize(s); return })
	if v, sv, set, ok := l.expandedGet(section, stream+"_syslog", nil, exp); set && ok {
		b, err := parseBool(v)
		if err != nil {
			l.fail(section, stream+"_syslog", sv, err)
		}
		o.Syslog = o.Syslog || b
	}
	if o.Kind == LogAuto && o.MaxBytes == 0 {
		v, _ := l.doc.get(section, key)
		l.warn(section, key, v, "For [%s], AUTO logging used for %s without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally", section, key)
	}
	return o
}

func (l *loader) servers(here string) {
	for _, s := range l.doc.sections {
		if !strings.HasPrefix(s.name, "inet_http_server") {
			continue
		}
		srv := InetHTTPServer{Section: s.name}
		_, srv.Name, _ = strings.Cut(s.name, ":")
		user, pass, has, ok := l.auth(s)
		if !ok {
			continue
		}
		srv.Username, srv.Password, srv.HasAuth = user, Password(pass), has
		port, v, set, ok := l.expandedGet(s.name, "port", nil, nil)
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name, Option: "port", NoValue: true,
				Msg: fmt.Sprintf("section [%s] has no port value", s.name), Hint: "add port = 127.0.0.1:9001"})
			continue
		}
		host, p, err := parseInetAddress(port)
		if err != nil {
			l.fail(s.name, "port", v, err)
			continue
		}
		srv.Host, srv.Port = host, p
		if allow, ok := typed(l, s.name, "allow_unauthenticated", "false", nil, parseBool); ok {
			srv.AllowUnauthenticated = allow
		}
		l.cfg.InetServers = append(l.cfg.InetServers, srv)
	}
	for _, s := range l.doc.sections {
		if !strings.HasPrefix(s.name, "unix_http_server") {
			continue
		}
		srv := UnixHTTPServer{Section: s.name, Chmod: DefaultChmod, ChownUID: -1, ChownGID: -1}
		_, srv.Name, _ = strings.Cut(s.name, ":")
		file, _, set, ok := l.expandedGet(s.name, "file", nil, expansions{"here": here})
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name, Option: "file", NoValue: true,
				Msg: fmt.Sprintf("section [%s] has no file value", s.name), Hint: "add file = /var/run/supervisor.sock"})
			continue
		}
		srv.File = normalizePath(pyStrip(file))
		user, pass, has, ok := l.auth(s)
		if !ok {
			continue
		}
		srv.Username, srv.Password, srv.HasAuth = user, Password(pass), has
		if c, v, set, ok := l.expandedGet(s.name, "chown", nil, nil); set && ok {
			uid, gid, err := parseUserGroup(c)
			if err != nil {
				l.fail(s.name, "chown", v, badValue("use user or user:group", "Invalid sockchown value %s", c))
				continue
			}
			srv.ChownUID, srv.ChownGID = uid, gid
		}
		if c, v, set, ok := l.expandedGet(s.name, "chmod", nil, nil); set && ok {
			m, err := octalOf(c)
			if err != nil {
				l.fail(s.name, "chmod", v, badValue(hintOctal, "Invalid chmod value %s", c))
				continue
			}
			srv.Chmod = m
		}
		l.cfg.UnixServers = append(l.cfg.UnixServers, srv)
	}
}

// auth reads username and password, which go together.
func (l *loader) auth(s *iniSection) (user, pass string, has, ok bool) {
	user, uv, userSet, ok1 := l.expandedGet(s.name, "username", nil, nil)
	pass, pv, passSet, ok2 := l.expandedGet(s.name, "password", nil, nil)
	if !ok1 || !ok2 {
		return "", "", false, false
	}
	if userSet != passSet {
		v, opt := uv, "username"
		if passSet {
			v, opt = pv, "password"
		}
		l.fail(s.name, opt, v, badValue("set both username and password, or neither",
			"Section [%s] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified", s.name))
		return "", "", false, false
	}
	return user, pass, userSet, true
}

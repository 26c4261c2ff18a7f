package config

import (
	"fmt"
	"strconv"
	"strings"
)

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
		name, err := expand(nameTmpl, l.env.over(common), "process_name")
		if err != nil {
			l.fail(section, "process_name", nameV, err)
		}
		q.Name = name
		l.readiness(section, &q, common)
		if len(l.errs) > errsBefore {
			return nil
		}
		out = append(out, &q)
	}
	sortProcesses(out)
	return out
}

func (l *loader) programEnvironment(section string, v *iniValue, raw string, exp expansions) (Environment, bool) {
	s, err := expand(raw, l.env.over(exp), "environment")
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
		val, err := expand(val, l.env.over(exp), key)
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

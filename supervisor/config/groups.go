package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

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

package config

// Start order and readiness: the depends_on, bind_to and ready* options of
// [program:x] and [eventlistener:x] (extensions: Python supervisor ignores
// them, so a file that uses them still loads there and starts by priority).

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpudesk/runtime/supervisor/ready"
)

// Defaults of the readiness options.
const (
	DefaultReadyTimeout  = 60 * time.Second
	DefaultReadyInterval = 10 * time.Second
)

const (
	hintDeps    = "list programs, groups or group:name, group:* separated by commas (e.g. depends_on = xserver, dbus)"
	hintSeconds = "use a number of seconds greater than 0 (e.g. 60 or 0.5)"
	hintReady   = "use " + ready.Syntax
)

// readiness reads the readiness options of one process of a section.
func (l *loader) readiness(section string, p *Process, exp expansions) {
	get := func(opt, def string, parse func(string) error) {
		val, v, _, ok := l.expandedGet(section, opt, &def, exp)
		if ok {
			if err := parse(val); err != nil {
				l.fail(section, opt, v, err)
			}
		}
	}
	get("depends_on", "", func(s string) (err error) { p.DependsOn, err = ParseDependsOn(s); return })
	get("bind_to", "", func(s string) (err error) { p.BindTo, err = ParseDependsOn(s); return })
	get("ready_timeout", "60", func(s string) (err error) { p.ReadyTimeout, err = parseSeconds(s); return })
	get("ready_interval", "10", func(s string) (err error) { p.ReadyInterval, err = parseSeconds(s); return })
	get("ready_restart", "false", func(s string) (err error) { p.ReadyRestart, err = parseBool(s); return })
	if val, v, set, ok := l.expandedGet(section, "ready", nil, exp); set && ok {
		c, err := ready.Parse(val)
		if err != nil {
			l.fail(section, "ready", v, badValue(hintReady, "not a readiness check: %v", err))
		} else {
			p.Ready = &c
		}
	}
}

// ParseDependsOn reads a depends_on (or bind_to) list: names separated by
// commas, each a program or group name, group:name or group:*.
func ParseDependsOn(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, badValue(hintDeps, "empty name in the list %s", pyRepr(s))
		}
		group, proc, hasColon := strings.Cut(name, ":")
		bad := strings.ContainsAny(name, " \t\r\n/") || group == "" || strings.Contains(proc, ":") ||
			(hasColon && proc != "*" && proc != "" && strings.Contains(proc, "*")) || (!hasColon && strings.Contains(name, "*"))
		if bad {
			return nil, badValue(hintDeps, "invalid name %s", pyRepr(name))
		}
		if proc == "" && hasColon {
			name = group + ":*"
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// parseSeconds reads a positive number of seconds, fractions allowed.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e6 {
		return 0, badValue(hintSeconds, "not a number of seconds: %s", pyRepr(s))
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Resolve returns the processes of groups that a depends_on name means: a
// group's processes ("x", "x:*"), one process ("group:name"), or, for a
// name that is no group, the processes of the program of that name
// wherever its [group:x] put it. It returns nil when nothing matches.
func Resolve(groups []*Group, name string) []*Process {
	group, proc, hasColon := strings.Cut(name, ":")
	var out []*Process
	for _, g := range groups {
		if g.Name != group {
			continue
		}
		for _, p := range g.Processes {
			if !hasColon || proc == "*" || p.Name == proc {
				out = append(out, p)
			}
		}
		return out
	}
	if !hasColon {
		for _, g := range groups {
			for _, p := range g.Processes {
				if p.Program == name {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// Needs returns the names p waits for: depends_on, then bind_to names not
// already in it (being bound to a program means depending on it).
func (p *Process) Needs() []string {
	out := append([]string(nil), p.DependsOn...)
	for _, b := range p.BindTo {
		found := false
		for _, d := range out {
			found = found || d == b
		}
		if !found {
			out = append(out, b)
		}
	}
	return out
}

// checkDependencies finds names that match nothing and cycles, once every
// group is read.
func (l *loader) checkDependencies() {
	groups := l.cfg.Groups
	deps := map[*Process][]*Process{}
	var all []*Process
	for _, g := range groups {
		for _, p := range g.Processes {
			all = append(all, p)
			for _, opt := range []string{"depends_on", "bind_to"} {
				names := p.DependsOn
				if opt == "bind_to" {
					names = p.BindTo
				}
				for _, name := range names {
					if Resolve(groups, name) == nil {
						v, _ := l.doc.get(p.Section, opt)
						l.fail(p.Section, opt, v, badValue("name a [program:x], [group:x], [eventlistener:x] or [fcgi-program:x] of this configuration",
							"%s names %s, which is no program or group of this configuration", p.Name, name))
					}
				}
			}
			for _, name := range p.Needs() {
				deps[p] = append(deps[p], Resolve(groups, name)...)
			}
		}
	}
	// Depth-first search; a grey node met again closes a cycle.
	const (
		white = iota
		grey
		black
	)
	color := map[*Process]int{}
	var stack []*Process
	reported := map[string]bool{}
	var visit func(p *Process)
	visit = func(p *Process) {
		color[p] = grey
		stack = append(stack, p)
		for _, q := range deps[p] {
			switch color[q] {
			case white:
				visit(q)
			case grey:
				l.cycle(stack, q, reported)
			}
		}
		stack = stack[:len(stack)-1]
		color[p] = black
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, p := range all {
		if color[p] == white {
			visit(p)
		}
	}
}

// cycle reports the cycle that the stack closes at q, once.
func (l *loader) cycle(stack []*Process, q *Process, reported map[string]bool) {
	i := len(stack) - 1
	for i > 0 && stack[i] != q {
		i--
	}
	members := stack[i:]
	names := make([]string, 0, len(members)+1)
	for _, m := range members {
		names = append(names, MakeName(m))
	}
	key := strings.Join(sortedCopy(names), " ")
	if reported[key] {
		return
	}
	reported[key] = true
	names = append(names, MakeName(q))
	first := members[0]
	opt := "depends_on"
	if len(first.DependsOn) == 0 {
		opt = "bind_to"
	}
	v, _ := l.doc.get(first.Section, opt)
	msg := fmt.Sprintf("dependency cycle: %s", strings.Join(names, " -> "))
	if len(members) == 1 {
		msg = fmt.Sprintf("%s depends on itself", names[0])
	}
	l.fail(first.Section, opt, v, badValue("remove one of the names so that the programs can start one after the other", "%s", msg))
}

// MakeName is how a process is named in messages: "name", or
// "group:name" inside a group of another name.
func MakeName(p *Process) string {
	if p.Group == p.Name {
		return p.Name
	}
	return p.Group + ":" + p.Name
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// ReadinessOptions are the names of the options above, which Python does
// not know (the differential test leaves them out of the comparison).
var ReadinessOptions = []string{"depends_on", "bind_to", "ready", "ready_timeout", "ready_interval", "ready_restart"}

// effectiveReadiness adds the readiness options to a process's effective
// configuration.
func (p *Process) effectiveReadiness(m map[string]any) {
	m["depends_on"] = append([]string{}, p.DependsOn...)
	m["bind_to"] = append([]string{}, p.BindTo...)
	m["ready"] = nil
	if p.Ready != nil {
		m["ready"] = p.Ready.Text
	}
	m["ready_timeout"] = p.ReadyTimeout.Seconds()
	m["ready_interval"] = p.ReadyInterval.Seconds()
	m["ready_restart"] = p.ReadyRestart
}

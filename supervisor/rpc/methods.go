package rpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/daemon"
	"github.com/gpudesk/runtime/supervisor/logfile"
	"github.com/gpudesk/runtime/supervisor/process"
)

// Parameter readers: a wrong type is INCORRECT_PARAMETERS.

func strArg(args []any, i int) (string, error) {
	if s, ok := args[i].(string); ok {
		return s, nil
	}
	return "", fault(IncorrectParameters)
}

func intArg(args []any, i int) (int64, error) {
	switch v := args[i].(type) {
	case int64:
		return v, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fault(IncorrectParameters)
}

// boolArg reads an optional flag (default true), truthy as Python's.
func boolArg(args []any, i int) bool {
	if i >= len(args) {
		return true
	}
	switch v := args[i].(type) {
	case bool:
		return v
	case int64:
		return v != 0
	case string:
		return v != ""
	case nil:
		return false
	}
	return true
}

func (s *Server) supervisorMethods() map[string]*method {
	m := map[string]*method{
		"getAPIVersion":        {sig: []string{"string"}, help: "Return the version of the RPC API used by supervisord", fn: s.constant(func() any { return APIVersion })},
		"getSupervisorVersion": {sig: []string{"string"}, help: "Return the version of the supervisor package in use by supervisord", fn: s.constant(func() any { return SupervisorVersion })},
		"getIdentification":    {sig: []string{"string"}, help: "Return identifying string of supervisord", fn: s.constant(func() any { return s.d.Config().Supervisord.Identifier })},
		"getState":             {sig: []string{"struct"}, help: "Return current state of supervisord as a struct", fn: s.constant(s.state)},
		"getPID":               {sig: []string{"int"}, help: "Return the PID of supervisord", fn: s.constant(func() any { return s.d.PID() })},
		"readLog":              {sig: []string{"string", "int", "int"}, names: []string{"offset", "length"}, help: "Read length bytes from the main log starting at offset", fn: s.readLog},
		"clearLog":             {sig: []string{"boolean"}, help: "Clear the main log.", fn: s.clearLog},
		"shutdown":             {sig: []string{"boolean"}, help: "Shut down the supervisor process", fn: s.setMood(process.MoodShutdown)},
		"restart":              {sig: []string{"boolean"}, help: "Restart the supervisor process", fn: s.setMood(process.MoodRestarting)},
		"reloadConfig":         {sig: []string{"array"}, help: "Reload the configuration. The result contains three arrays containing names of process groups: added, changed and removed.", fn: s.reloadConfig},
		"addProcessGroup":      {sig: []string{"boolean", "string"}, names: []string{"name"}, help: "Update the config for a running process from config file.", fn: s.addProcessGroup},
		"removeProcessGroup":   {sig: []string{"boolean", "string"}, names: []string{"name"}, help: "Remove a stopped process from the active configuration.", fn: s.removeProcessGroup},
		"startProcess":         {sig: []string{"boolean", "string", "boolean"}, names: []string{"name", "wait"}, optional: 1, help: "Start a process", fn: s.startProcess},
		"startProcessGroup":    {sig: []string{"array", "string", "boolean"}, names: []string{"name", "wait"}, optional: 1, help: "Start all processes in the group named 'name'", fn: s.startProcessGroup},
		"startAllProcesses":    {sig: []string{"array", "boolean"}, names: []string{"wait"}, optional: 1, help: "Start all processes listed in the configuration file", fn: s.startAllProcesses},
		"stopProcess":          {sig: []string{"boolean", "string", "boolean"}, names: []string{"name", "wait"}, optional: 1, help: "Stop a process named by name", fn: s.stopProcess},
		"stopProcessGroup":     {sig: []string{"array", "string", "boolean"}, names: []string{"name", "wait"}, optional: 1, help: "Stop all processes in the process group named 'name'", fn: s.stopProcessGroup},
		"stopAllProcesses":     {sig: []string{"array", "boolean"}, names: []string{"wait"}, optional: 1, help: "Stop all processes in the process list", fn: s.stopAllProcesses},
		"signalProcess":        {sig: []string{"boolean", "string", "string"}, names: []string{"name", "signal"}, help: "Send an arbitrary UNIX signal to the process named by name", fn: s.signalProcess},
		"signalProcessGroup":   {sig: []string{"array", "string", "string"}, names: []string{"name", "signal"}, help: "Send a signal to all processes in the group named 'name'", fn: s.signalProcessGroup},
		"signalAllProcesses":   {sig: []string{"array", "string"}, names: []string{"signal"}, help: "Send a signal to all processes in the process list", fn: s.signalAllProcesses},
		"getAllConfigInfo":     {sig: []string{"array"}, help: "Get info about all available process configurations. Each struct represents a single process (i.e. groups get flattened).", fn: s.getAllConfigInfo},
		"getProcessInfo":       {sig: []string{"struct", "string"}, names: []string{"name"}, help: "Get info about a process named name", fn: s.getProcessInfo},
		"getAllProcessInfo":    {sig: []string{"array"}, help: "Get info about all processes", fn: s.getAllProcessInfo},
		"readProcessStdoutLog": {sig: []string{"string", "string", "int", "int"}, names: []string{"name", "offset", "length"}, help: "Read length bytes from name's stdout log starting at offset", fn: s.readProcessLog(false)},
		"readProcessStderrLog": {sig: []string{"string", "string", "int", "int"}, names: []string{"name", "offset", "length"}, help: "Read length bytes from name's stderr log starting at offset", fn: s.readProcessLog(true)},
		"tailProcessStdoutLog": {sig: []string{"array", "string", "int", "int"}, names: []string{"name", "offset", "length"}, help: "Provides a more efficient way to tail the (stdout) log than readProcessStdoutLog().", fn: s.tailProcessLog(false)},
		"tailProcessStderrLog": {sig: []string{"array", "string", "int", "int"}, names: []string{"name", "offset", "length"}, help: "Provides a more efficient way to tail the (stderr) log than readProcessStderrLog().", fn: s.tailProcessLog(true)},
		"clearProcessLogs":     {sig: []string{"boolean", "string"}, names: []string{"name"}, help: "Clear the stdout and stderr logs for the named process and reopen them.", fn: s.clearProcessLogs},
		"clearAllProcessLogs":  {sig: []string{"array"}, help: "Clear all process log files", fn: s.clearAllProcessLogs},
		"sendProcessStdin":     {sig: []string{"boolean", "string", "string"}, names: []string{"name", "chars"}, help: "Send a string of chars to the stdin of the process name.", fn: s.sendProcessStdin},
		"sendRemoteCommEvent":  {sig: []string{"boolean", "string", "string"}, names: []string{"type", "data"}, help: "Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent.", fn: s.sendRemoteCommEvent},
	}
	m["getReadiness"] = s.readinessMethod() // extension (readiness.go)
	for _, meth := range m {
		meth.help = helpText(meth)
	}
	// Aliases kept for older clients, as in supervisor (after the help
	// texts: an alias shares its method).
	m["getVersion"] = m["getAPIVersion"]
	m["readMainLog"] = m["readLog"]
	m["readProcessLog"] = m["readProcessStdoutLog"]
	m["tailProcessLog"] = m["tailProcessStdoutLog"]
	m["clearProcessLog"] = m["clearProcessLogs"]
	return m
}

// helpText appends @param/@return lines, from which methodSignature is
// derived, as in supervisor's docstrings.
func helpText(m *method) string {
	t := m.help + "\n\n"
	for i, typ := range m.sig[1:] {
		t += fmt.Sprintf("        @param %s %s\n", typ, m.names[i])
	}
	return t + fmt.Sprintf("        @return %s result\n", m.sig[0])
}

// constant answers a value read on the loop after the mood check.
func (s *Server) constant(v func() any) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, _ []any) (any, error) {
		var out any
		err := s.on(ctx, func() error {
			if err := s.checkMood(); err != nil {
				return err
			}
			out = v()
			return nil
		})
		return out, err
	}
}

func (s *Server) state() any {
	m := s.d.Mood()
	names := map[process.Mood]string{process.MoodRunning: "RUNNING", process.MoodRestarting: "RESTARTING", process.MoodShutdown: "SHUTDOWN"}
	return map[string]any{"statecode": int(m), "statename": names[m]}
}

func (s *Server) setMood(m process.Mood) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, _ []any) (any, error) {
		err := s.on(ctx, func() error {
			if err := s.checkMood(); err != nil {
				return err
			}
			s.d.SetMood(m)
			return nil
		})
		return true, err
	}
}

// readFile maps logfile.Read to supervisor's faults.
func readFile(path string, offset, length int64) (any, error) {
	if path == "" {
		return nil, fault(NoFile) // Python's extra is None: no text
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fault(NoFile, path)
	}
	data, err := logfile.Read(path, offset, length)
	if errors.Is(err, logfile.ErrBadArguments) {
		return nil, fault(BadArguments)
	}
	if err != nil {
		return nil, fault(Failed)
	}
	return string(data), nil
}

func (s *Server) readLog(ctx context.Context, args []any) (any, error) {
	offset, err := intArg(args, 0)
	if err != nil {
		return nil, err
	}
	length, err := intArg(args, 1)
	if err != nil {
		return nil, err
	}
	var path string
	if err := s.on(ctx, func() error { path = s.d.Logger().Path(); return s.checkMood() }); err != nil {
		return nil, err
	}
	return readFile(path, offset, length)
}

func (s *Server) clearLog(ctx context.Context, _ []any) (any, error) {
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		log := s.d.Logger()
		path := log.Path()
		if path == "" {
			return fault(NoFile)
		}
		if _, err := os.Stat(path); err != nil {
			return fault(NoFile)
		}
		if err := os.Remove(path); err != nil {
			return fault(Failed)
		}
		log.Log(config.LevelInfo, "reopening log file")
		if err := log.Reopen(); err != nil {
			return fault(Failed)
		}
		return nil
	})
	return true, err
}

func (s *Server) reloadConfig(ctx context.Context, _ []any) (any, error) {
	var added, changed, removed []string
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		var err error
		added, changed, removed, err = s.d.ReloadConfig()
		var es config.Errors
		if errors.As(err, &es) && len(es) > 0 {
			// supervisorctl shows this text: Python's words for the first
			// problem.
			return fault(CantReread, es[0].PythonMessage())
		}
		if err != nil {
			return fault(CantReread, err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	list := func(ss []string) []any {
		out := []any{}
		for _, x := range ss {
			out = append(out, x)
		}
		return out
	}
	return []any{[]any{list(added), list(changed), list(removed)}}, nil
}

func (s *Server) addProcessGroup(ctx context.Context, args []any) (any, error) {
	return s.changeGroups(ctx, args, s.d.AddGroup)
}

func (s *Server) removeProcessGroup(ctx context.Context, args []any) (any, error) {
	return s.changeGroups(ctx, args, s.d.RemoveGroup)
}

// changeGroups adds or removes the named group on the loop, mapping the
// daemon's errors to supervisor's faults.
func (s *Server) changeGroups(ctx context.Context, args []any, change func(string) error) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	err = s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		switch err := change(name); {
		case errors.Is(err, daemon.ErrAlreadyAdded):
			return fault(AlreadyAdded, name)
		case errors.Is(err, daemon.ErrStillRunning):
			return fault(StillRunning, name)
		case errors.Is(err, daemon.ErrNoGroup):
			return fault(BadName, name)
		case err != nil:
			return fault(Failed, err.Error())
		}
		return nil
	})
	return true, err
}

// startOne starts a process, on the loop; it returns the wait that
// remains when wait is set and the process is not RUNNING yet.
func (s *Server) startOne(t target, name string, wait bool) (pending, error) {
	p := t.p
	if err := p.CheckCommand(); err != nil {
		var ce *process.CommandError
		if errors.As(err, &ce) && ce.NotFound {
			return nil, fault(NoFile, ce.Msg)
		}
		return nil, fault(NotExecutable, err.Error())
	}
	if isRunning(p) {
		return nil, fault(AlreadyStarted, name)
	}
	if p.State() == process.Unknown {
		return nil, fault(Failed, name+" is in an unknown process state")
	}
	s.d.StartProcess(p)
	if p.SpawnErr() != "" {
		return nil, fault(SpawnError, name)
	}
	if !wait || p.State() == process.Running {
		return nil, nil
	}
	return func() (bool, error) {
		if p.SpawnErr() != "" {
			return false, fault(SpawnError, name)
		}
		switch p.State() {
		case process.Running:
			return true, nil
		case process.Starting:
			return false, nil
		}
		return false, fault(AbnormalTermination, name)
	}, nil
}

// stopOne stops a process, on the loop.
func (s *Server) stopOne(t target, name string, wait bool) (pending, error) {
	p := t.p
	if !isRunning(p) {
		return nil, fault(NotRunning, name)
	}
	if msg := s.d.StopProcess(p); msg != "" {
		return nil, fault(Failed, msg)
	}
	if !wait || p.State().IsStopped() {
		return nil, nil
	}
	return func() (bool, error) {
		p.StopReport(time.Now())
		return p.State().IsStopped(), nil
	}, nil
}

// one runs a single-process operation, or the group operation when the
// name is a group ("g:*" or "g:").
func (s *Server) one(ctx context.Context, name string, op func(target, string) (pending, error), group func(string) (any, error)) (any, error) {
	var check pending
	var groupName string
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		g, p, err := s.lookup(name)
		if err != nil {
			return err
		}
		if p == nil {
			groupName = g.Config.Name
			return nil
		}
		check, err = op(target{g, p}, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if groupName != "" {
		return group(groupName)
	}
	if check != nil {
		if err := s.waitFor(ctx, check); err != nil {
			return nil, err
		}
	}
	return true, nil
}

func (s *Server) startProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	wait := boolArg(args, 1)
	return s.one(ctx, name,
		func(t target, n string) (pending, error) { return s.startOne(t, n, wait) },
		func(g string) (any, error) { return s.groupOp(ctx, g, "start", wait, 0) })
}

func (s *Server) stopProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	wait := boolArg(args, 1)
	return s.one(ctx, name,
		func(t target, n string) (pending, error) { return s.stopOne(t, n, wait) },
		func(g string) (any, error) { return s.groupOp(ctx, g, "stop", wait, 0) })
}

// groupOp starts, stops or signals every process of a group ("" for all
// groups), in priority order.
func (s *Server) groupOp(ctx context.Context, group, op string, wait bool, sig int) (any, error) {
	var targets []target
	err := s.on(ctx, func() error {
		if op != "signal" {
			if err := s.checkMood(); err != nil {
				return err
			}
		}
		if group == "" {
			targets = byPriority(s.d.Groups())
			return nil
		}
		g := s.d.Group(group)
		if g == nil {
			return fault(BadName, group)
		}
		targets = groupTargets(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var res []any
	switch op {
	case "start":
		res, err = s.allFunc(ctx, targets, func(p *process.Process) bool { return !isRunning(p) },
			func(t target) (pending, error) { return s.startOne(t, t.namespec(), wait) })
	case "stop":
		res, err = s.allFunc(ctx, targets, isRunning,
			func(t target) (pending, error) { return s.stopOne(t, t.namespec(), wait) })
	case "signal":
		res, err = s.allFunc(ctx, targets, isSignallable,
			func(t target) (pending, error) { return nil, signalOne(t, t.namespec(), sig) })
		if err == nil {
			// supervisor checks its state after signalling a group.
			err = s.on(ctx, s.checkMood)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Server) startProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	return s.groupOp(ctx, name, "start", boolArg(args, 1), 0)
}

func (s *Server) startAllProcesses(ctx context.Context, args []any) (any, error) {
	return s.groupOp(ctx, "", "start", boolArg(args, 0), 0)
}

func (s *Server) stopProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	return s.groupOp(ctx, name, "stop", boolArg(args, 1), 0)
}

func (s *Server) stopAllProcesses(ctx context.Context, args []any) (any, error) {
	return s.groupOp(ctx, "", "stop", boolArg(args, 0), 0)
}

// signalNumber reads a signal name or number as supervisor does.
func signalNumber(v any) (int, error) {
	str := fmt.Sprint(v)
	n, err := config.ParseSignal(str)
	if err != nil {
		return 0, fault(BadSignal, str)
	}
	return n, nil
}

func signalOne(t target, name string, sig int) error {
	if !isSignallable(t.p) {
		return fault(NotRunning, name)
	}
	if msg := t.p.Signal(sig, time.Now()); msg != "" {
		return fault(Failed, msg)
	}
	return nil
}

func (s *Server) signalProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	var group string
	err = s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		g, p, err := s.lookup(name)
		if err != nil {
			return err
		}
		if p == nil {
			group = g.Config.Name
			return nil
		}
		sig, err := signalNumber(args[1])
		if err != nil {
			return err
		}
		return signalOne(target{g, p}, name, sig)
	})
	if err != nil {
		return nil, err
	}
	if group != "" {
		sig, err := signalNumber(args[1])
		if err != nil {
			return nil, err
		}
		return s.groupOp(ctx, group, "signal", false, sig)
	}
	return true, nil
}

func (s *Server) signalProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	sig, err := signalNumber(args[1])
	if err != nil {
		// supervisor reports a bad signal per process, not for the call.
		return s.groupSignalFaults(ctx, name, args[1])
	}
	return s.groupOp(ctx, name, "signal", false, sig)
}

// groupSignalFaults answers a group signal with a bad signal name: each
// signallable process gets BAD_SIGNAL, as supervisor's allfunc reports it.
func (s *Server) groupSignalFaults(ctx context.Context, group string, sig any) (any, error) {
	var targets []target
	err := s.on(ctx, func() error {
		if group == "" {
			targets = byPriority(s.d.Groups())
			return nil
		}
		g := s.d.Group(group)
		if g == nil {
			return fault(BadName, group)
		}
		targets = groupTargets(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.allFunc(ctx, targets, isSignallable, func(t target) (pending, error) {
		return nil, fault(BadSignal, fmt.Sprint(sig))
	})
}

func (s *Server) signalAllProcesses(ctx context.Context, args []any) (any, error) {
	sig, err := signalNumber(args[0])
	if err != nil {
		return s.groupSignalFaults(ctx, "", args[0])
	}
	return s.groupOp(ctx, "", "signal", false, sig)
}

// capped is supervisor's capped_int: times in the int32 range.
func capped(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	v := t.Unix()
	return max(min(v, math.MaxInt32), math.MinInt32)
}

// info is getProcessInfo's struct for one process. Runs on the loop.
func info(t target, now time.Time) map[string]any {
	p := t.p
	state := p.State()
	out := map[string]any{
		"name":           p.Name(),
		"group":          t.g.Config.Name,
		"start":          capped(p.LastStart()),
		"stop":           capped(p.LastStop()),
		"now":            capped(now),
		"state":          int(state),
		"statename":      state.String(),
		"spawnerr":       p.SpawnErr(),
		"exitstatus":     p.ExitStatus(),
		"logfile":        p.LogPath(false),
		"stdout_logfile": p.LogPath(false),
		"stderr_logfile": p.LogPath(true),
		"pid":            p.PID(),
	}
	out["description"] = Describe(state, out["start"].(int64), out["stop"].(int64), out["now"].(int64), p.PID(), p.SpawnErr(), p.Name())
	if note := p.Note(); note != "" {
		// STARTING while it waits for its dependencies or its ready
		// check (Python's description is empty there).
		out["description"] = note
	}
	return out
}

// Describe is the description supervisor shows for a process: its pid and
// uptime when RUNNING, the spawn error when BACKOFF or FATAL, the stop
// time (or "Not started") when STOPPED or EXITED.
func Describe(state process.State, start, stop, now int64, pid int, spawnErr, name string) string {
	switch state {
	case process.Running:
		up := now - start
		if up < 0 {
			up = 0
		}
		return fmt.Sprintf("pid %d, uptime %s", pid, uptime(up))
	case process.Fatal, process.Backoff:
		if spawnErr == "" {
			return fmt.Sprintf("unknown error (try \"tail %s\")", name)
		}
		return spawnErr
	case process.Stopped, process.Exited:
		if start == 0 {
			return "Not started"
		}
		return time.Unix(stop, 0).Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// uptime formats seconds as Python's str(timedelta): "1 day, 2:03:04".
func uptime(secs int64) string {
	days, rest := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", rest/3600, rest%3600/60, rest%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}

func (s *Server) getProcessInfo(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err == nil {
			out = info(t, time.Now())
		}
		return err
	})
	return out, err
}

func (s *Server) getAllProcessInfo(ctx context.Context, _ []any) (any, error) {
	var out []any
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		now := time.Now()
		for _, t := range lexical(s.d.Groups()) {
			out = append(out, info(t, now))
		}
		return nil
	})
	if out == nil {
		out = []any{}
	}
	return out, err
}

func (s *Server) getAllConfigInfo(ctx context.Context, _ []any) (any, error) {
	var out []map[string]any
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		for _, gc := range s.d.KnownGroups() {
			running := s.d.Group(gc.Name)
			for i, pc := range gc.Processes {
				var live *process.Process
				if running != nil && i < len(running.Processes) {
					live = running.Processes[i]
				}
				out = append(out, configInfo(gc, pc, running != nil, live))
			}
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	res := make([]any, len(out))
	for i := range out {
		res[i] = out[i]
	}
	return res, err
}

func configInfo(gc *config.Group, pc *config.Process, inuse bool, live *process.Process) map[string]any {
	orNone := func(v any, ok bool) any {
		if !ok {
			return "none"
		}
		return v
	}
	logName := func(o config.OutputLog, stderr bool) any {
		switch o.Kind {
		case config.LogNone:
			return "none"
		case config.LogAuto:
			if live != nil && live.LogPath(stderr) != "" {
				return live.LogPath(stderr)
			}
			return "auto"
		}
		return o.Path
	}
	dir, hasDir := "", pc.Directory != nil
	if hasDir {
		dir = *pc.Directory
	}
	url, hasURL := "", pc.ServerURL != nil
	if hasURL {
		url = *pc.ServerURL
	}
	codes := []any{}
	for _, c := range pc.ExitCodes {
		codes = append(codes, c)
	}
	return map[string]any{
		"autostart": pc.Autostart, "directory": orNone(dir, hasDir), "uid": orNone(pc.UID, pc.UID >= 0),
		"command": pc.Command, "exitcodes": codes, "group": gc.Name, "group_prio": gc.Priority,
		"inuse": inuse, "killasgroup": pc.KillAsGroup, "name": pc.Name, "process_prio": pc.Priority,
		"redirect_stderr": pc.RedirectStderr, "startretries": pc.StartRetries, "startsecs": pc.StartSecs,
		"stdout_capture_maxbytes": pc.Stdout.CaptureMaxBytes, "stdout_events_enabled": pc.Stdout.EventsEnabled,
		"stdout_logfile": logName(pc.Stdout, false), "stdout_logfile_backups": pc.Stdout.Backups,
		"stdout_logfile_maxbytes": pc.Stdout.MaxBytes, "stdout_syslog": pc.Stdout.Syslog,
		"stopsignal": pc.StopSignal, "stopwaitsecs": pc.StopWaitSecs,
		"stderr_capture_maxbytes": pc.Stderr.CaptureMaxBytes, "stderr_events_enabled": pc.Stderr.EventsEnabled,
		"stderr_logfile": logName(pc.Stderr, true), "stderr_logfile_backups": pc.Stderr.Backups,
		"stderr_logfile_maxbytes": pc.Stderr.MaxBytes, "stderr_syslog": pc.Stderr.Syslog,
		"serverurl": orNone(url, hasURL),
	}
}

// processOf resolves a name to one process, on the loop, after the mood
// check; a group name is BAD_NAME.
func (s *Server) processOf(name string) (target, error) {
	if err := s.checkMood(); err != nil {
		return target{}, err
	}
	g, p, err := s.lookup(name)
	if err != nil {
		return target{}, err
	}
	if p == nil {
		return target{}, fault(BadName, name)
	}
	return target{g, p}, nil
}

// logArgs reads (name, offset, length) and finds the log file.
func (s *Server) logArgs(ctx context.Context, args []any, stderr bool) (path string, offset, length int64, err error) {
	name, err := strArg(args, 0)
	if err != nil {
		return "", 0, 0, err
	}
	if offset, err = intArg(args, 1); err != nil {
		return "", 0, 0, err
	}
	if length, err = intArg(args, 2); err != nil {
		return "", 0, 0, err
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err == nil {
			path = t.p.LogPath(stderr)
		}
		return err
	})
	return path, offset, length, err
}

func (s *Server) readProcessLog(stderr bool) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, args []any) (any, error) {
		path, offset, length, err := s.logArgs(ctx, args, stderr)
		if err != nil {
			return nil, err
		}
		return readFile(path, offset, length)
	}
}

func (s *Server) tailProcessLog(stderr bool) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, args []any) (any, error) {
		path, offset, length, err := s.logArgs(ctx, args, stderr)
		if err != nil {
			return nil, err
		}
		if path == "" {
			return []any{"", 0, false}, nil
		}
		if _, err := os.Stat(path); err != nil {
			return []any{"", 0, false}, nil
		}
		data, next, overflow := logfile.Tail(path, offset, length)
		return []any{string(data), next, overflow}, nil
	}
}

func (s *Server) clearProcessLogs(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err != nil {
			return err
		}
		if t.p.RemoveLogs() != nil {
			return fault(Failed, name)
		}
		return nil
	})
	return true, err
}

func (s *Server) clearAllProcessLogs(ctx context.Context, _ []any) (any, error) {
	var targets []target
	if err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		targets = byPriority(s.d.Groups())
		return nil
	}); err != nil {
		return nil, err
	}
	return s.allFunc(ctx, targets, func(*process.Process) bool { return true }, func(t target) (pending, error) {
		if t.p.RemoveLogs() != nil {
			return nil, fault(Failed, t.namespec())
		}
		return nil, nil
	})
}

func (s *Server) sendProcessStdin(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	var chars []byte
	switch v := args[1].(type) {
	case string:
		chars = []byte(v)
	case []byte:
		chars = v
	default:
		return nil, fault(IncorrectParameters, fmt.Sprint(v))
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err != nil {
			return err
		}
		p := t.p
		if p.PID() == 0 || p.Killing() {
			return fault(NotRunning, name)
		}
		if err := p.WriteStdin(chars); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return fault(NoFile, name)
			}
			return fault(Failed, err.Error())
		}
		return nil
	})
	return true, err
}

// sendRemoteCommEvent publishes REMOTE_COMMUNICATION; like supervisor it
// works even while shutting down.
func (s *Server) sendRemoteCommEvent(ctx context.Context, args []any) (any, error) {
	typ, data := fmt.Sprint(args[0]), fmt.Sprint(args[1])
	err := s.on(ctx, func() error { s.d.PublishRemote(typ, data); return nil })
	return true, err
}

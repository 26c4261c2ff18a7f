package rpc

import (
	"context"
	"fmt"
	"strconv"

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

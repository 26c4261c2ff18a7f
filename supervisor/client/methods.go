package client

import (
	"context"
	"errors"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// GetAPIVersion is supervisor.getAPIVersion.
func (c *Client) GetAPIVersion(ctx context.Context) (string, error) {
	v, err := c.Call(ctx, "supervisor.getAPIVersion")
	return str("supervisor.getAPIVersion", v, err)
}

// GetVersion is supervisor.getVersion, the deprecated alias of
// getAPIVersion that supervisorctl uses to check the server.
func (c *Client) GetVersion(ctx context.Context) (string, error) {
	v, err := c.Call(ctx, "supervisor.getVersion")
	return str("supervisor.getVersion", v, err)
}

// GetSupervisorVersion is supervisor.getSupervisorVersion.
func (c *Client) GetSupervisorVersion(ctx context.Context) (string, error) {
	v, err := c.Call(ctx, "supervisor.getSupervisorVersion")
	return str("supervisor.getSupervisorVersion", v, err)
}

// GetIdentification is supervisor.getIdentification.
func (c *Client) GetIdentification(ctx context.Context) (string, error) {
	v, err := c.Call(ctx, "supervisor.getIdentification")
	return str("supervisor.getIdentification", v, err)
}

// GetState is supervisor.getState.
func (c *Client) GetState(ctx context.Context) (State, error) {
	const method = "supervisor.getState"
	v, err := c.Call(ctx, method)
	if err != nil {
		return State{}, err
	}
	m, err := structOf(method, v)
	if err != nil {
		return State{}, err
	}
	return State{Code: int(intField(m, "statecode")), Name: field[string](m, "statename")}, nil
}

// GetPID is supervisor.getPID.
func (c *Client) GetPID(ctx context.Context) (int, error) {
	v, err := c.Call(ctx, "supervisor.getPID")
	n, err := integer("supervisor.getPID", v, err)
	return int(n), err
}

// ReadLog is supervisor.readLog: length bytes of the main log from offset
// (a negative offset counts from the end; length 0 means to the end).
func (c *Client) ReadLog(ctx context.Context, offset, length int) (string, error) {
	v, err := c.Call(ctx, "supervisor.readLog", int64(offset), int64(length))
	return str("supervisor.readLog", v, err)
}

// ClearLog is supervisor.clearLog.
func (c *Client) ClearLog(ctx context.Context) error {
	_, err := c.Call(ctx, "supervisor.clearLog")
	return err
}

// Shutdown is supervisor.shutdown.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.Call(ctx, "supervisor.shutdown")
	return err
}

// Restart is supervisor.restart.
func (c *Client) Restart(ctx context.Context) error {
	_, err := c.Call(ctx, "supervisor.restart")
	return err
}

// ReloadConfig is supervisor.reloadConfig: the names of the groups added,
// changed and removed by the configuration on disk.
func (c *Client) ReloadConfig(ctx context.Context) (added, changed, removed []string, err error) {
	const method = "supervisor.reloadConfig"
	v, err := c.Call(ctx, method)
	outer, err := arrayOf(method, v, err)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(outer) != 1 {
		return nil, nil, nil, &DecodeError{method, "[[added, changed, removed]]", v}
	}
	inner, err := arrayOf(method, outer[0], nil)
	if err != nil || len(inner) != 3 {
		return nil, nil, nil, &DecodeError{method, "[[added, changed, removed]]", v}
	}
	var lists [3][]string
	for i := range lists {
		if lists[i], err = stringList(method, inner[i], nil); err != nil {
			return nil, nil, nil, err
		}
	}
	return lists[0], lists[1], lists[2], nil
}

// AddProcessGroup is supervisor.addProcessGroup.
func (c *Client) AddProcessGroup(ctx context.Context, name string) error {
	_, err := c.Call(ctx, "supervisor.addProcessGroup", name)
	return err
}

// RemoveProcessGroup is supervisor.removeProcessGroup.
func (c *Client) RemoveProcessGroup(ctx context.Context, name string) error {
	_, err := c.Call(ctx, "supervisor.removeProcessGroup", name)
	return err
}

// StartProcess is supervisor.startProcess.
func (c *Client) StartProcess(ctx context.Context, name string, wait bool) error {
	_, err := c.Call(ctx, "supervisor.startProcess", name, wait)
	return err
}

// StartProcessGroup is supervisor.startProcessGroup.
func (c *Client) StartProcessGroup(ctx context.Context, name string, wait bool) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.startProcessGroup", name, wait)
	return results("supervisor.startProcessGroup", v, err)
}

// StartAllProcesses is supervisor.startAllProcesses.
func (c *Client) StartAllProcesses(ctx context.Context, wait bool) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.startAllProcesses", wait)
	return results("supervisor.startAllProcesses", v, err)
}

// StopProcess is supervisor.stopProcess.
func (c *Client) StopProcess(ctx context.Context, name string, wait bool) error {
	_, err := c.Call(ctx, "supervisor.stopProcess", name, wait)
	return err
}

// StopProcessGroup is supervisor.stopProcessGroup.
func (c *Client) StopProcessGroup(ctx context.Context, name string, wait bool) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.stopProcessGroup", name, wait)
	return results("supervisor.stopProcessGroup", v, err)
}

// StopAllProcesses is supervisor.stopAllProcesses.
func (c *Client) StopAllProcesses(ctx context.Context, wait bool) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.stopAllProcesses", wait)
	return results("supervisor.stopAllProcesses", v, err)
}

// SignalProcess is supervisor.signalProcess; sig is a name ("HUP",
// "SIGHUP") or a number, as text.
func (c *Client) SignalProcess(ctx context.Context, name, sig string) error {
	_, err := c.Call(ctx, "supervisor.signalProcess", name, sig)
	return err
}

// SignalProcessGroup is supervisor.signalProcessGroup.
func (c *Client) SignalProcessGroup(ctx context.Context, name, sig string) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.signalProcessGroup", name, sig)
	return results("supervisor.signalProcessGroup", v, err)
}

// SignalAllProcesses is supervisor.signalAllProcesses.
func (c *Client) SignalAllProcesses(ctx context.Context, sig string) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.signalAllProcesses", sig)
	return results("supervisor.signalAllProcesses", v, err)
}

// GetAllConfigInfo is supervisor.getAllConfigInfo.
func (c *Client) GetAllConfigInfo(ctx context.Context) ([]ConfigInfo, error) {
	const method = "supervisor.getAllConfigInfo"
	v, err := c.Call(ctx, method)
	a, err := arrayOf(method, v, err)
	if err != nil {
		return nil, err
	}
	out := make([]ConfigInfo, 0, len(a))
	for _, e := range a {
		m, err := structOf(method, e)
		if err != nil {
			return nil, err
		}
		out = append(out, ConfigInfo{
			Name:        field[string](m, "name"),
			Group:       field[string](m, "group"),
			InUse:       intField(m, "inuse") != 0,
			Autostart:   intField(m, "autostart") != 0,
			GroupPrio:   int(intField(m, "group_prio")),
			ProcessPrio: int(intField(m, "process_prio")),
			Raw:         m,
		})
	}
	return out, nil
}

// GetProcessInfo is supervisor.getProcessInfo.
func (c *Client) GetProcessInfo(ctx context.Context, name string) (ProcessInfo, error) {
	const method = "supervisor.getProcessInfo"
	v, err := c.Call(ctx, method, name)
	if err != nil {
		return ProcessInfo{}, err
	}
	return processInfo(method, v)
}

// GetAllProcessInfo is supervisor.getAllProcessInfo.
func (c *Client) GetAllProcessInfo(ctx context.Context) ([]ProcessInfo, error) {
	const method = "supervisor.getAllProcessInfo"
	v, err := c.Call(ctx, method)
	a, err := arrayOf(method, v, err)
	if err != nil {
		return nil, err
	}
	out := make([]ProcessInfo, 0, len(a))
	for _, e := range a {
		info, err := processInfo(method, e)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Stream names a process's output channel.
type Stream string

// The two channels of a process.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

func streamMethod(prefix string, s Stream) string {
	if s == Stderr {
		return "supervisor." + prefix + "ProcessStderrLog"
	}
	return "supervisor." + prefix + "ProcessStdoutLog"
}

// ReadProcessLog is supervisor.readProcessStdoutLog or
// readProcessStderrLog.
func (c *Client) ReadProcessLog(ctx context.Context, name string, s Stream, offset, length int) (string, error) {
	method := streamMethod("read", s)
	v, err := c.Call(ctx, method, name, int64(offset), int64(length))
	return str(method, v, err)
}

// TailProcessLog is supervisor.tailProcessStdoutLog or
// tailProcessStderrLog: up to length bytes ending the log, the offset to
// ask from next time, and whether more than length bytes were new.
func (c *Client) TailProcessLog(ctx context.Context, name string, s Stream, offset, length int) (data string, next int64, overflow bool, err error) {
	method := streamMethod("tail", s)
	v, err := c.Call(ctx, method, name, int64(offset), int64(length))
	a, err := arrayOf(method, v, err)
	if err != nil {
		return "", 0, false, err
	}
	if len(a) != 3 {
		return "", 0, false, &DecodeError{method, "[data, offset, overflow]", v}
	}
	data, ok1 := a[0].(string)
	next, ok2 := toInt(a[1])
	overflow, ok3 := a[2].(bool)
	if !ok1 || !ok2 || !ok3 {
		return "", 0, false, &DecodeError{method, "[data, offset, overflow]", v}
	}
	return data, next, overflow, nil
}

// ClearProcessLogs is supervisor.clearProcessLogs.
func (c *Client) ClearProcessLogs(ctx context.Context, name string) error {
	_, err := c.Call(ctx, "supervisor.clearProcessLogs", name)
	return err
}

// ClearAllProcessLogs is supervisor.clearAllProcessLogs.
func (c *Client) ClearAllProcessLogs(ctx context.Context) ([]Result, error) {
	v, err := c.Call(ctx, "supervisor.clearAllProcessLogs")
	return results("supervisor.clearAllProcessLogs", v, err)
}

// SendProcessStdin is supervisor.sendProcessStdin.
func (c *Client) SendProcessStdin(ctx context.Context, name, chars string) error {
	_, err := c.Call(ctx, "supervisor.sendProcessStdin", name, chars)
	return err
}

// SendRemoteCommEvent is supervisor.sendRemoteCommEvent.
func (c *Client) SendRemoteCommEvent(ctx context.Context, typ, data string) error {
	_, err := c.Call(ctx, "supervisor.sendRemoteCommEvent", typ, data)
	return err
}

// ListMethods is system.listMethods.
func (c *Client) ListMethods(ctx context.Context) ([]string, error) {
	v, err := c.Call(ctx, "system.listMethods")
	return stringList("system.listMethods", v, err)
}

// MethodHelp is system.methodHelp.
func (c *Client) MethodHelp(ctx context.Context, method string) (string, error) {
	v, err := c.Call(ctx, "system.methodHelp", method)
	return str("system.methodHelp", v, err)
}

// MethodSignature is system.methodSignature: as supervisor answers it,
// one signature, the return type first, then the parameter types.
func (c *Client) MethodSignature(ctx context.Context, method string) ([]string, error) {
	v, err := c.Call(ctx, "system.methodSignature", method)
	return stringList("system.methodSignature", v, err)
}

// Multicall is system.multicall: one result per call, in order. As
// supervisor answers it, a result is the call's value as it is (not
// wrapped in a one-element array, as the introspection spec has it), or a
// fault struct.
func (c *Client) Multicall(ctx context.Context, calls []Call) ([]MulticallResult, error) {
	const name = "system.multicall"
	req := make([]any, len(calls))
	for i, call := range calls {
		params := call.Params
		if params == nil {
			params = []any{}
		}
		req[i] = map[string]any{"methodName": call.Method, "params": params}
	}
	v, err := c.Call(ctx, name, req)
	a, err := arrayOf(name, v, err)
	if err != nil {
		return nil, err
	}
	out := make([]MulticallResult, len(a))
	for i, e := range a {
		out[i].Value = e
		if m, ok := e.(map[string]any); ok && len(m) == 2 {
			code, ok1 := toInt(m["faultCode"])
			msg, ok2 := m["faultString"].(string)
			if ok1 && ok2 {
				out[i] = MulticallResult{Fault: &xmlrpc.Fault{Code: int(code), String: msg}}
			}
		}
	}
	return out, nil
}

// FaultCode returns the code of err when it is a fault, and false when it
// is not.
func FaultCode(err error) (int, bool) {
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		return f.Code, true
	}
	return 0, false
}

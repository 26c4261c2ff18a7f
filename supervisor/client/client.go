// Package client is a typed client of supervisord's XML-RPC API: one method
// per supervisor.* and system.* method, with the results decoded into
// structs. Faults come back as *xmlrpc.Fault (use errors.As and the Fault
// constants below); transport problems as the xmlrpc package returns them.
package client

import (
	"context"
	"fmt"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// Fault codes of supervisor's XML-RPC API (supervisor.xmlrpc.Faults).
const (
	FaultUnknownMethod        = 1
	FaultIncorrectParameters  = 2
	FaultBadArguments         = 3
	FaultSignatureUnsupported = 4
	FaultShutdownState        = 6
	FaultBadName              = 10
	FaultBadSignal            = 11
	FaultNoFile               = 20
	FaultNotExecutable        = 21
	FaultFailed               = 30
	FaultAbnormalTermination  = 40
	FaultSpawnError           = 50
	FaultAlreadyStarted       = 60
	FaultNotRunning           = 70
	FaultSuccess              = 80
	FaultAlreadyAdded         = 90
	FaultStillRunning         = 91
	FaultCantReread           = 92
)

// Process states (supervisor.states.ProcessStates).
const (
	StateStopped  = 0
	StateStarting = 10
	StateRunning  = 20
	StateBackoff  = 30
	StateStopping = 40
	StateExited   = 100
	StateFatal    = 200
	StateUnknown  = 1000
)

// Stopped reports whether a process state is one of supervisor's
// STOPPED_STATES (STOPPED, EXITED, FATAL, UNKNOWN).
func Stopped(state int) bool {
	switch state {
	case StateStopped, StateExited, StateFatal, StateUnknown:
		return true
	}
	return false
}

// APIVersion is the API version supervisor 4.2.5 reports and supervisorctl
// expects.
const APIVersion = "3.0"

// Client calls one supervisord.
type Client struct {
	rpc       *xmlrpc.Client
	serverURL string
}

// New returns a client of the supervisord at serverURL (http://host:port or
// unix:///path), authenticating with username and password.
func New(serverURL, username, password string) (*Client, error) {
	rpc, err := xmlrpc.NewClient(serverURL, username, password)
	if err != nil {
		return nil, err
	}
	return &Client{rpc: rpc, serverURL: serverURL}, nil
}

// ServerURL is the URL the client talks to.
func (c *Client) ServerURL() string { return c.serverURL }

// Call calls any method with raw XML-RPC values.
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	return c.rpc.Call(ctx, method, params...)
}

// State is supervisord's own state (getState).
type State struct {
	Code int
	Name string
}

// ProcessInfo is one process as getProcessInfo reports it.
type ProcessInfo struct {
	Name          string
	Group         string
	Description   string
	Start         int64 // Unix seconds; 0 when never started
	Stop          int64
	Now           int64
	State         int
	StateName     string
	SpawnErr      string
	ExitStatus    int
	Logfile       string
	StdoutLogfile string
	StderrLogfile string
	PID           int
}

// Result is the outcome for one process of a group or "all" operation.
type Result struct {
	Name        string
	Group       string
	Status      int // a Fault code; FaultSuccess when it worked
	Description string
}

// ConfigInfo is one process's configuration as getAllConfigInfo reports
// it. Raw holds every field as sent.
type ConfigInfo struct {
	Name        string
	Group       string
	InUse       bool
	Autostart   bool
	GroupPrio   int
	ProcessPrio int
	Raw         map[string]any
}

// MulticallResult is one result of system.multicall: Value, or Fault when
// the call failed.
type MulticallResult struct {
	Value any
	Fault *xmlrpc.Fault
}

// Call is one call of a system.multicall.
type Call struct {
	Method string
	Params []any
}

// DecodeError says the server sent a value of an unexpected shape.
type DecodeError struct {
	Method string
	Want   string
	Got    any
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s: unexpected result %T (want %s)", e.Method, e.Got, e.Want)
}

func str(method string, v any, err error) (string, error) {
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", &DecodeError{method, "string", v}
	}
	return s, nil
}

func boolean(method string, v any, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &DecodeError{method, "boolean", v}
	}
	return b, nil
}

func integer(method string, v any, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, ok := toInt(v)
	if !ok {
		return 0, &DecodeError{method, "int", v}
	}
	return n, nil
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case bool:
		if n {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func structOf(method string, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &DecodeError{method, "struct", v}
	}
	return m, nil
}

func arrayOf(method string, v any, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	a, ok := v.([]any)
	if !ok {
		return nil, &DecodeError{method, "array", v}
	}
	return a, nil
}

func stringList(method string, v any, err error) ([]string, error) {
	a, err := arrayOf(method, v, err)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, &DecodeError{method, "array of strings", v}
		}
		out = append(out, s)
	}
	return out, nil
}

func field[T any](m map[string]any, key string) T {
	v, _ := m[key].(T)
	return v
}

func intField(m map[string]any, key string) int64 {
	n, _ := toInt(m[key])
	return n
}

func processInfo(method string, v any) (ProcessInfo, error) {
	m, err := structOf(method, v)
	if err != nil {
		return ProcessInfo{}, err
	}
	return ProcessInfo{
		Name:          field[string](m, "name"),
		Group:         field[string](m, "group"),
		Description:   field[string](m, "description"),
		Start:         intField(m, "start"),
		Stop:          intField(m, "stop"),
		Now:           intField(m, "now"),
		State:         int(intField(m, "state")),
		StateName:     field[string](m, "statename"),
		SpawnErr:      field[string](m, "spawnerr"),
		ExitStatus:    int(intField(m, "exitstatus")),
		Logfile:       field[string](m, "logfile"),
		StdoutLogfile: field[string](m, "stdout_logfile"),
		StderrLogfile: field[string](m, "stderr_logfile"),
		PID:           int(intField(m, "pid")),
	}, nil
}

func results(method string, v any, err error) ([]Result, error) {
	a, err := arrayOf(method, v, err)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(a))
	for _, e := range a {
		m, err := structOf(method, e)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{
			Name:        field[string](m, "name"),
			Group:       field[string](m, "group"),
			Status:      int(intField(m, "status")),
			Description: field[string](m, "description"),
		})
	}
	return out, nil
}

package ctl

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// fakeServer answers XML-RPC on a unix socket from a table: each method's
// result, or a *xmlrpc.Fault; methods not in the table are UNKNOWN_METHOD.
// A status other than 0 answers every request with that HTTP status.
func fakeServer(t *testing.T, status int, answers map[string]any) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rpc := xmlrpc.Handler(func(_ context.Context, method string, _ []any) (any, error) {
		v, ok := answers[method]
		if !ok {
			return nil, &xmlrpc.Fault{Code: 1, String: "UNKNOWN_METHOD"}
		}
		if f, ok := v.(*xmlrpc.Fault); ok {
			return nil, f
		}
		return v, nil
	}, xmlrpc.Limits{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			http.Error(w, "no", status)
			return
		}
		rpc.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func fault(code int, s string) *xmlrpc.Fault { return &xmlrpc.Fault{Code: code, String: s} }

func res(name, group string, status int, desc string) map[string]any {
	return map[string]any{"name": name, "group": group, "status": int64(status), "description": desc}
}

func info(name, group string, state int64) map[string]any {
	return map[string]any{"name": name, "group": group, "state": state, "statename": "X", "description": "d", "pid": int64(0)}
}

// TestDifferential_fakeServer compares the answers no real supervisord
// gives on demand: an unknown API, a server shutting down, unknown result
// codes, failures, HTTP errors.
func TestDifferential_fakeServer(t *testing.T) {
	requirePython(t)
	t.Parallel()
	p := ctlPair("", "a fake")
	every := []string{"status", "status x", "pid", "pid x", "pid all", "avail", "reread", "update", "update g",
		"add x", "remove x", "shutdown", "reload", "version", "tail x", "tail x stderr", "maintail", "start x",
		"start g:*", "start all", "stop x", "stop g:*", "stop all", "restart x", "clear x", "clear all",
		"signal HUP x", "signal HUP g:*", "signal HUP all", "fg x"}
	shuttingDown := fault(6, "SHUTDOWN_STATE")
	scenarios := []struct {
		name    string
		status  int
		answers map[string]any
		lines   []string
	}{
		{"unknown namespace", 0, map[string]any{}, every},
		{"old API", 0, map[string]any{"supervisor.getVersion": "2.0"}, every},
		{"numeric API", 0, map[string]any{"supervisor.getVersion": int64(3)}, []string{"status"}},
		{"HTTP 500", 500, nil, every},
		{"HTTP 403", 403, nil, []string{"status", "avail"}},
		{"shutting down", 0, map[string]any{
			"supervisor.getVersion": "3.0", "supervisor.getAllProcessInfo": shuttingDown,
			"supervisor.getAllConfigInfo": shuttingDown, "supervisor.reloadConfig": shuttingDown,
			"supervisor.addProcessGroup": shuttingDown, "supervisor.removeProcessGroup": shuttingDown,
			"supervisor.shutdown": shuttingDown, "supervisor.restart": shuttingDown,
			"supervisor.startProcess": shuttingDown, "supervisor.stopProcess": shuttingDown,
			"supervisor.startProcessGroup": shuttingDown, "supervisor.stopProcessGroup": shuttingDown,
			"supervisor.signalProcess": shuttingDown, "supervisor.signalProcessGroup": shuttingDown,
			"supervisor.clearProcessLogs": shuttingDown, "supervisor.getProcessInfo": shuttingDown,
			"supervisor.readProcessStdoutLog": shuttingDown, "supervisor.readLog": shuttingDown,
			"supervisor.getPID": shuttingDown, "supervisor.getSupervisorVersion": shuttingDown,
		}, every},
		{"odd results", 0, map[string]any{
			"supervisor.getVersion":           "3.0",
			"supervisor.startAllProcesses":    []any{res("a", "a", 80, "OK"), res("b", "g", 99, "?")},
			"supervisor.startProcessGroup":    []any{res("a", "g", 21, "x"), res("b", "g", 20, "x"), res("c", "g", 40, "x")},
			"supervisor.stopAllProcesses":     []any{res("a", "a", 30, "FAILED: it would not die"), res("b", "b", 70, "x")},
			"supervisor.stopProcessGroup":     []any{res("a", "g", 99, "x")},
			"supervisor.signalAllProcesses":   []any{res("a", "a", 11, "x"), res("b", "b", 30, "no luck")},
			"supervisor.signalProcessGroup":   []any{res("a", "g", 10, "x")},
			"supervisor.clearAllProcessLogs":  []any{res("a", "a", 30, "x"), res("b", "g", 10, "x"), res("c", "c", 99, "x")},
			"supervisor.startProcess":         fault(50, "SPAWN_ERROR: x"),
			"supervisor.stopProcess":          fault(40, "ABNORMAL_TERMINATION: x"),
			"supervisor.signalProcess":        fault(30, "FAILED: x"),
			"supervisor.clearProcessLogs":     fault(30, "FAILED: x"),
			"supervisor.readProcessStdoutLog": fault(30, "FAILED"),
			"supervisor.readProcessStderrLog": fault(20, "NO_FILE: x"),
			"supervisor.readLog":              fault(20, "NO_FILE: /x"),
			"supervisor.getProcessInfo":       fault(30, "FAILED: it's \"odd\""),
			"supervisor.getAllProcessInfo":    []any{info("a", "a", 20), info("x", "g", 0), info("lóng_námé_"+strings.Repeat("x", 30), "g", 200)},
			"supervisor.reloadConfig":         []any{[]any{[]any{"new"}, []any{}, []any{"g"}}},
			"supervisor.addProcessGroup":      fault(2, "INCORRECT_PARAMETERS"),
			"supervisor.removeProcessGroup":   fault(92, "CANT_REREAD: x"),
			"supervisor.getAllConfigInfo": []any{map[string]any{"name": "a", "group": "g", "inuse": false, "autostart": true,
				"group_prio": int64(-1), "process_prio": int64(5)}},
			"supervisor.getPID":               int64(42),
			"supervisor.getSupervisorVersion": "9.9",
			"supervisor.shutdown":             fault(30, "FAILED"),
			"supervisor.restart":              fault(30, "FAILED"),
		}, append(every, "status a x g:*", "update new g", "reload", "maintail -5")},
		{"update problems", 0, map[string]any{
			"supervisor.getVersion":         "3.0",
			"supervisor.reloadConfig":       []any{[]any{[]any{}, []any{"c"}, []any{"r"}}},
			"supervisor.stopProcessGroup":   []any{res("r", "r", 30, "FAILED: x")},
			"supervisor.removeProcessGroup": true, "supervisor.addProcessGroup": true,
			"supervisor.getAllProcessInfo": []any{info("r", "r", 20), info("c", "c", 20)},
		}, []string{"update", "update r c", "update all"}},
		{"reread fails", 0, map[string]any{
			"supervisor.getVersion":   "3.0",
			"supervisor.reloadConfig": fault(92, "CANT_REREAD: bad.conf: no command"),
		}, []string{"reread", "update"}},
		{"reread other fault", 0, map[string]any{
			"supervisor.getVersion":   "3.0",
			"supervisor.reloadConfig": fault(30, "FAILED"),
		}, []string{"reread", "update"}},
	}
	for _, sc := range scenarios {
		url := fakeServer(t, sc.status, sc.answers)
		for _, line := range sc.lines {
			a := append([]string{"-s", url}, args(line)...)
			compare(t, p, sc.name+": "+line, pythonCtl(t, "", 0, a...), ourCtl(t, "", 0, a...))
		}
	}
}

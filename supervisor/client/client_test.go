package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// startPython starts Debian's Python supervisord on a configuration with
// the given programs and returns a client of it once every program has
// settled.
func startPython(t *testing.T, programs string) (*client.Client, string) {
	t.Helper()
	daemontest.RequirePython(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte(`[unix_http_server]
file=%(here)s/sock
[supervisord]
nodaemon=true
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
identifier=testid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[include]
files=conf.d/*.conf
`+programs), 0o644)
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	d := daemontest.Start(t, daemontest.Python, conf, daemontest.Options{Dir: dir, Setpgid: true, StopTimeout: 15 * time.Second})
	c, err := client.New("unix://"+filepath.Join(dir, "sock"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	d.Settle(c, 20*time.Second)
	return c, dir
}

const programs = `
[program:sleeper]
command=/bin/sleep 1000
startsecs=0
[program:cat]
command=/bin/cat
startsecs=0
[program:talker]
command=/bin/sh -c "echo out; echo err >&2; exec /bin/sleep 1000"
startsecs=0
[program:manual]
command=/bin/sleep 1000
autostart=false
startsecs=0
[group:g]
programs=ga
[program:ga]
command=/bin/sleep 1000
startsecs=0
priority=5
`

func wantFault(t *testing.T, err error, code int) {
	t.Helper()
	var f *xmlrpc.Fault
	if !errors.As(err, &f) || f.Code != code {
		t.Fatalf("got %v, want fault %d", err, code)
	}
	if got, ok := client.FaultCode(err); !ok || got != code {
		t.Fatalf("FaultCode = %d, %v", got, ok)
	}
}

func TestClient_againstPython(t *testing.T) {
	t.Parallel()
	c, dir := startPython(t, programs)
	ctx := context.Background()

	t.Run("versions", func(t *testing.T) {
		for _, tc := range []struct {
			call func(context.Context) (string, error)
			want string
		}{{c.GetAPIVersion, "3.0"}, {c.GetVersion, "3.0"}, {c.GetSupervisorVersion, "4.2.5"}, {c.GetIdentification, "testid"}} {
			if got, err := tc.call(ctx); err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		}
	})
	t.Run("state and pid", func(t *testing.T) {
		st, err := c.GetState(ctx)
		if err != nil || st != (client.State{Code: 1, Name: "RUNNING"}) {
			t.Errorf("GetState = %+v, %v", st, err)
		}
		pid, err := c.GetPID(ctx)
		if err != nil || pid <= 1 {
			t.Errorf("GetPID = %d, %v", pid, err)
		}
	})
	t.Run("process info", func(t *testing.T) {
		infos, err := c.GetAllProcessInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, i := range infos {
			names = append(names, i.Group+":"+i.Name)
		}
		if want := []string{"cat:cat", "g:ga", "manual:manual", "sleeper:sleeper", "talker:talker"}; !slices.Equal(names, want) {
			t.Errorf("names = %v, want %v", names, want)
		}
		info, err := c.GetProcessInfo(ctx, "sleeper")
		if err != nil {
			t.Fatal(err)
		}
		if info.State != client.StateRunning || info.StateName != "RUNNING" || info.PID <= 0 || info.Start == 0 ||
			info.Now < info.Start || !strings.HasPrefix(info.Description, "pid ") ||
			!strings.HasPrefix(info.StdoutLogfile, dir) || info.Logfile != info.StdoutLogfile {
			t.Errorf("sleeper = %+v", info)
		}
		m, err := c.GetProcessInfo(ctx, "manual")
		if err != nil || m.State != client.StateStopped || m.PID != 0 || !client.Stopped(m.State) {
			t.Errorf("manual = %+v, %v", m, err)
		}
		_, err = c.GetProcessInfo(ctx, "nonexist")
		wantFault(t, err, client.FaultBadName)
	})
	t.Run("config info", func(t *testing.T) {
		cis, err := c.GetAllConfigInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ga client.ConfigInfo
		for _, ci := range cis {
			if ci.Name == "ga" {
				ga = ci
			}
		}
		if ga.Group != "g" || !ga.InUse || !ga.Autostart || ga.GroupPrio != 999 || ga.ProcessPrio != 5 ||
			ga.Raw["command"] != "/bin/sleep 1000" {
			t.Errorf("ga = %+v", ga)
		}
	})
	t.Run("start and stop", func(t *testing.T) {
		if err := c.StartProcess(ctx, "manual", true); err != nil {
			t.Fatal(err)
		}
		wantFault(t, c.StartProcess(ctx, "manual", true), client.FaultAlreadyStarted)
		if err := c.StopProcess(ctx, "manual", true); err != nil {
			t.Fatal(err)
		}
		wantFault(t, c.StopProcess(ctx, "manual", true), client.FaultNotRunning)
		rs, err := c.StopProcessGroup(ctx, "g", true)
		if err != nil || len(rs) != 1 || rs[0] != (client.Result{Name: "ga", Group: "g", Status: client.FaultSuccess, Description: "OK"}) {
			t.Errorf("StopProcessGroup = %+v, %v", rs, err)
		}
		rs, err = c.StartProcessGroup(ctx, "g", true)
		if err != nil || len(rs) != 1 || rs[0].Status != client.FaultSuccess {
			t.Errorf("StartProcessGroup = %+v, %v", rs, err)
		}
		_, err = c.StartProcessGroup(ctx, "nonexist", true)
		wantFault(t, err, client.FaultBadName)
	})
	t.Run("signals", func(t *testing.T) {
		if err := c.SignalProcess(ctx, "sleeper", "WINCH"); err != nil {
			t.Error(err)
		}
		wantFault(t, c.SignalProcess(ctx, "sleeper", "NOPE"), client.FaultBadSignal)
		rs, err := c.SignalProcessGroup(ctx, "g", "WINCH")
		if err != nil || len(rs) != 1 || rs[0].Status != client.FaultSuccess {
			t.Errorf("SignalProcessGroup = %+v, %v", rs, err)
		}
		rs, err = c.SignalAllProcesses(ctx, "WINCH")
		if err != nil || len(rs) != 4 {
			t.Errorf("SignalAllProcesses = %+v, %v", rs, err)
		}
	})
	t.Run("logs", func(t *testing.T) {
		out, err := c.ReadProcessLog(ctx, "talker", client.Stdout, 0, 0)
		if err != nil || out != "out\n" {
			t.Errorf("stdout = %q, %v", out, err)
		}
		out, err = c.ReadProcessLog(ctx, "talker", client.Stderr, -2, 0)
		if err != nil || out != "r\n" {
			t.Errorf("stderr tail = %q, %v", out, err)
		}
		data, next, overflow, err := c.TailProcessLog(ctx, "talker", client.Stdout, 0, 2)
		if err != nil || data != "t\n" || next != 4 || !overflow {
			t.Errorf("TailProcessLog = %q, %d, %v, %v", data, next, overflow, err)
		}
		main, err := c.ReadLog(ctx, 0, 0)
		if err != nil || !strings.Contains(main, "supervisord started with pid") {
			t.Errorf("ReadLog = %q, %v", main, err)
		}
		if err := c.ClearProcessLogs(ctx, "talker"); err != nil {
			t.Error(err)
		}
		if out, _ := c.ReadProcessLog(ctx, "talker", client.Stdout, 0, 0); out != "" {
			t.Errorf("after clear: %q", out)
		}
		rs, err := c.ClearAllProcessLogs(ctx)
		if err != nil || len(rs) != 5 {
			t.Errorf("ClearAllProcessLogs = %+v, %v", rs, err)
		}
	})
	t.Run("stdin and tailf", func(t *testing.T) {
		var mu sync.Mutex
		var buf bytes.Buffer
		w := writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return buf.Write(p)
		})
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- c.TailF(fctx, "cat", client.Stdout, w) }()
		if err := c.SendProcessStdin(ctx, "cat", "hello\n"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := buf.String()
			mu.Unlock()
			if strings.Contains(got, "hello\n") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("TailF ended with %v, want context.Canceled", err)
		}
		if !strings.Contains(buf.String(), "hello\n") {
			t.Errorf("TailF got %q", buf.String())
		}
		wantFault(t, c.SendProcessStdin(ctx, "manual", "x"), client.FaultNotRunning)
		var he *xmlrpc.HTTPError
		if err := c.TailF(ctx, "nonexist", client.Stdout, &buf); !errors.As(err, &he) || he.StatusCode != 404 {
			t.Errorf("TailF of an unknown process = %v", err)
		}
	})
	t.Run("reload, add, remove", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "conf.d", "new.conf"), []byte("[program:new]\ncommand=/bin/sleep 1000\n"), 0o644)
		added, changed, removed, err := c.ReloadConfig(ctx)
		if err != nil || !slices.Equal(added, []string{"new"}) || len(changed) != 0 || len(removed) != 0 {
			t.Fatalf("ReloadConfig = %v %v %v %v", added, changed, removed, err)
		}
		if err := c.AddProcessGroup(ctx, "new"); err != nil {
			t.Fatal(err)
		}
		wantFault(t, c.AddProcessGroup(ctx, "new"), client.FaultAlreadyAdded)
		wantFault(t, c.RemoveProcessGroup(ctx, "new"), client.FaultStillRunning)
		c.StopProcessGroup(ctx, "new", true)
		if err := c.RemoveProcessGroup(ctx, "new"); err != nil {
			t.Error(err)
		}
		wantFault(t, c.RemoveProcessGroup(ctx, "new"), client.FaultBadName)
	})
	t.Run("system", func(t *testing.T) {
		methods, err := c.ListMethods(ctx)
		if err != nil || !slices.Contains(methods, "supervisor.getState") || !slices.Contains(methods, "system.multicall") {
			t.Errorf("ListMethods = %v, %v", methods, err)
		}
		help, err := c.MethodHelp(ctx, "supervisor.getPID")
		if err != nil || !strings.Contains(help, "PID") {
			t.Errorf("MethodHelp = %q, %v", help, err)
		}
		sig, err := c.MethodSignature(ctx, "supervisor.readLog")
		if err != nil || !slices.Equal(sig, []string{"string", "int", "int"}) {
			t.Errorf("MethodSignature = %v, %v", sig, err)
		}
		res, err := c.Multicall(ctx, []client.Call{
			{Method: "supervisor.getAPIVersion"},
			{Method: "supervisor.getProcessInfo", Params: []any{"nonexist"}},
		})
		if err != nil || len(res) != 2 || res[0].Value != "3.0" || res[0].Fault != nil ||
			res[1].Fault == nil || res[1].Fault.Code != client.FaultBadName {
			t.Errorf("Multicall = %+v, %v", res, err)
		}
		if err := c.SendRemoteCommEvent(ctx, "type", "data"); err != nil {
			t.Error(err)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestClient_unreachable(t *testing.T) {
	t.Parallel()
	c, err := client.New("unix://"+filepath.Join(t.TempDir(), "nonexistent"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetState(context.Background()); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("got %v, want ENOENT", err)
	}
	if _, err := client.New("ftp://x", "", ""); err == nil {
		t.Error("ftp:// accepted")
	}
}

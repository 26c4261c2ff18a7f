package ctl

import (
	"os"
	"sync"
	"testing"

	"github.com/gpudesk/runtime/supervisor/internal/testbin"
)

// The differential tables again, with our supervisord serving both
// supervisorctls: Python's and ours must still print the same.

var (
	oursOnce sync.Once
	oursBin  string
	oursErr  error
)

// ourSupervisord builds our supervisord once per test binary.
func ourSupervisord(t *testing.T) string {
	t.Helper()
	oursOnce.Do(func() {
		var dir string
		oursBin, dir, oursErr = testbin.Supervisord(false)
		if oursErr == nil {
			binDir = dir
		}
	})
	if oursErr != nil {
		t.Fatal(oursErr)
	}
	return oursBin
}

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func ourPair(t *testing.T) pair { return ctlPair(ourSupervisord(t), "our") }

func TestOurDaemon_readOnly(t *testing.T)    { testReadOnly(t, ourPair(t)) }
func TestOurDaemon_actions(t *testing.T)     { testActions(t, ourPair(t)) }
func TestOurDaemon_update(t *testing.T)      { testUpdate(t, ourPair(t)) }
func TestOurDaemon_shutdown(t *testing.T)    { testShutdown(t, ourPair(t)) }
func TestOurDaemon_interactive(t *testing.T) { testInteractive(t, ourPair(t)) }
func TestOurDaemon_auth(t *testing.T)        { testAuth(t, ourPair(t)) }
func TestOurDaemon_tailf(t *testing.T)       { testTailf(t, ourPair(t)) }

// TestServerDiff runs the same tables with Python's supervisorctl against
// Python's supervisord and against ours (pids, dates, uptimes and folders
// normalised): a difference here is the servers', not the clients'.
func TestServerDiff(t *testing.T) {
	requirePython(t)
	p := serverPair(ourSupervisord(t))
	for name, test := range map[string]func(*testing.T, pair){
		"readOnly": testReadOnly, "actions": testActions, "update": testUpdate, "shutdown": testShutdown,
		"interactive": testInteractive, "auth": testAuth, "tailf": testTailf,
	} {
		t.Run(name, func(t *testing.T) { test(t, p) })
	}
}

package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// TestDaemon_answersUnderWayAtShutdownAreSent: calls the server has taken
// get their answers when the daemon stops, supervisor.shutdown's too. Five
// stopProcess(wait=true) calls wait for programs that take five seconds to die
// while shutdown is asked for; each must end in an answer (true, or the
// SHUTDOWN_STATE fault), never in a connection cut with the answer still
// unwritten (EOF, reset): the servers used to be closed at once.
func TestDaemon_answersUnderWayAtShutdownAreSent(t *testing.T) {
	var body strings.Builder
	body.WriteString(rpcSections)
	const n = 5
	for i := 0; i < n; i++ {
		fmt.Fprintf(&body, "[program:slow%d]\ncommand=%s\nstartsecs=2\nstopwaitsecs=5\n", i, prog("ignoreterm"))
	}
	h := start(t, supervisord, body.String())
	// RUNNING after startsecs=2: the child has ignored SIGTERM by then.
	for i := 0; i < n; i++ {
		h.waitFor(fmt.Sprintf(`success: slow%d entered RUNNING`, i), 60*time.Second)
	}
	url := "unix://" + filepath.Join(h.dir, "sock")
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := xmlrpc.NewClient(url, "", "")
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			_, errs[i] = c.Call(ctx, "supervisor.stopProcess", fmt.Sprintf("slow%d", i), true)
		}()
	}
	// Every call is under way once its program is STOPPING.
	c, err := xmlrpc.NewClient(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "every slow program STOPPING", func() bool {
		v, err := c.Call(ctx, "supervisor.getAllProcessInfo")
		if err != nil {
			return false
		}
		for _, p := range v.([]any) {
			if p.(map[string]any)["statename"] != "STOPPING" {
				return false
			}
		}
		return true
	})
	v, err := c.Call(ctx, "supervisor.shutdown")
	if err != nil || v != true {
		t.Errorf("supervisor.shutdown answered %v, %v; want true", v, err)
	}
	wg.Wait()
	for i, err := range errs {
		var fault *xmlrpc.Fault
		if err != nil && !errors.As(err, &fault) {
			t.Errorf("stopProcess slow%d lost its answer at shutdown: %v", i, err)
		}
	}
	select {
	case err := <-h.done:
		h.done <- err
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not exit after supervisor.shutdown")
	}
}

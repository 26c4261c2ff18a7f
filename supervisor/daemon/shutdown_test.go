package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// TestDaemon_answersUnderWayAtShutdownAreSent: calls that reached the
// server before it stops get their answers (supervisor.shutdown's too);
// later ones cannot connect. A connection cut after the request was sent
// (EOF, reset) is the bug: the servers were closed with the answers still
// being written.
func TestDaemon_answersUnderWayAtShutdownAreSent(t *testing.T) {
	var body strings.Builder
	body.WriteString("[unix_http_server]\nfile=%(here)s/sock\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&body, "[program:p%d]\ncommand=/bin/sleep 3600\nautostart=false\n", i)
	}
	h := start(t, supervisord, body.String())
	h.waitFor(`supervisord started with pid`, 60*time.Second)
	url := "unix://" + filepath.Join(h.dir, "sock")
	ctx := context.Background()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var cut []string
	answered := 0
	stop := make(chan struct{})
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := xmlrpc.NewClient(url, "", "")
				if err != nil {
					return
				}
				_, err = c.Call(ctx, "supervisor.getAllProcessInfo")
				c.Close() // one connection per call, none left idle
				var fault *xmlrpc.Fault
				var op *net.OpError
				switch {
				case err == nil:
					mu.Lock()
					answered++
					mu.Unlock()
				case errors.As(err, &fault):
					// SHUTDOWN_STATE once the shutdown has begun: an answer.
				case errors.As(err, &op) && op.Op == "dial":
					return // the server has stopped listening
				default:
					mu.Lock()
					cut = append(cut, err.Error())
					mu.Unlock()
					return
				}
			}
		}()
	}
	// Let the callers get going, then shut down while calls are under way.
	waitUntil(t, 30*time.Second, "calls answered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return answered >= 20
	})
	c, err := xmlrpc.NewClient(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Call(ctx, "supervisor.shutdown")
	if err != nil || v != true {
		t.Errorf("supervisor.shutdown answered %v, %v; want true", v, err)
	}
	select {
	case <-h.done:
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not exit after supervisor.shutdown")
	}
	close(stop)
	wg.Wait()
	if len(cut) > 0 {
		t.Errorf("%d calls lost their answer at shutdown, e.g. %s", len(cut), cut[0])
	}
}

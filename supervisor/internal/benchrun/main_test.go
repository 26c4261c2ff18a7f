package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// The start-up poll reads states from the raw response; it must count as
// a decoder would, on our encoding and on Python's (xmlrpc.client's, which
// puts newlines between the elements).
func TestCountRunningRaw(t *testing.T) {
	infos := []any{
		map[string]any{"name": "a", "statename": "RUNNING", "description": "pid 1, uptime 0:00:01"},
		map[string]any{"name": "b", "statename": "STARTING", "description": "RUNNING soon"},
		map[string]any{"name": "RUNNING", "statename": "RUNNING", "description": ""},
	}
	var ours bytes.Buffer
	if err := xmlrpc.EncodeResponse(&ours, infos); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{"ours": ours.Bytes()}
	py := `import sys, xmlrpc.client as x
sys.stdout.write(x.dumps(([{"name": "a", "statename": "RUNNING", "description": "pid 1, uptime 0:00:01"},
  {"name": "b", "statename": "STARTING", "description": "RUNNING soon"},
  {"name": "RUNNING", "statename": "RUNNING", "description": ""}],), methodresponse=True))`
	if out, err := exec.Command("python3", "-c", py).Output(); err == nil {
		bodies["python"] = out
	} else {
		t.Logf("python3: %v (only our encoding checked)", err)
	}
	for who, body := range bodies {
		running, total, err := countRunningRaw(body)
		if err != nil || running != 2 || total != 3 {
			t.Errorf("%s: countRunningRaw = %d/%d, %v; want 2/3\n%s", who, running, total, err, body)
		}
	}
	var fault bytes.Buffer
	xmlrpc.EncodeFault(&fault, &xmlrpc.Fault{Code: 6, String: "SHUTDOWN_STATE"})
	if _, _, err := countRunningRaw(fault.Bytes()); err == nil || !strings.Contains(err.Error(), "fault") {
		t.Errorf("a fault: err = %v, want one naming the fault", err)
	}
}

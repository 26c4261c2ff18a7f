package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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

// The warm-up leaves nothing behind; a capture run's folder keeps its
// files, emptied.
func TestWarmPageCacheAndEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	if err := warmPageCache(dir, 3<<20); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("warm-up left %v", left)
	}
	if err := warmPageCache(filepath.Join(dir, "missing"), 1); err == nil {
		t.Fatal("warm-up into a missing folder: no error")
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	for _, f := range []string{filepath.Join(dir, "a.log"), filepath.Join(sub, "b.log.1")} {
		if err := os.WriteFile(f, []byte("some output\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	emptyFiles(dir)
	for _, f := range []string{filepath.Join(dir, "a.log"), filepath.Join(sub, "b.log.1")} {
		if st, err := os.Stat(f); err != nil || st.Size() != 0 {
			t.Errorf("%s after emptyFiles: %v, %v; want an empty file", f, st, err)
		}
	}
}

package provisioner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
)

// TestSync_BootKeepsTheMarkerAndSyncMoves: on a mounted workspace with
// OPT_SYNC, the boot leaves /run/workspace_sync for provisioner sync,
// which moves the folder, links it and removes the marker; a restarted
// container changes nothing. Without a mount (or WORKSPACE_SYNC=false)
// the boot removes the marker and says why.
func TestSync_BootKeepsTheMarkerAndSyncMoves(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	mountFS(t, "ext4", filepath.Join(root, "workspace"))
	write(t, filepath.Join(root, "opt/ComfyUI/main.py"), "print('comfy')\n")
	environ := append(baseEnv(), "OPT_SYNC=ComfyUI")
	marker := filepath.Join(root, WorkspaceSync)
	sync := func() (int, string) {
		r := runBoot(t, root, environ, nil, "")
		if r.err != nil {
			t.Fatalf("boot: %v\n%s", r.err, r.logged)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("the boot removed %s with folders to sync:\n%s", WorkspaceSync, r.logged)
		}
		var out bytes.Buffer
		n := RunSync(context.Background(), SyncOptions{Root: root, Environ: r.plan.Environ, Out: &out})
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("provisioner sync left %s", WorkspaceSync)
		}
		return n, out.String()
	}
	n, out := sync()
	if n != 0 || !strings.Contains(out, "/opt/ComfyUI: moved to the workspace") {
		t.Fatalf("sync: %d failed\n%s", n, out)
	}
	if st, err := bootstatus.Read(filepath.Join(root, bootstatus.File)); err != nil || st.Sync == nil || st.Sync.State != "done" || st.Phase != bootstatus.PhaseSupervisord {
		t.Errorf("status.json: %+v %v", st, err)
	}
	if l, _ := os.Readlink(filepath.Join(root, "opt/ComfyUI")); l != "/workspace/ComfyUI" {
		t.Fatalf("/opt/ComfyUI links to %q", l)
	}
	if read(t, filepath.Join(root, "workspace/ComfyUI/main.py")) != "print('comfy')\n" {
		t.Error("the file did not arrive")
	}
	before := snapshot(t, root, append(bootSkip, WorkspaceSync)...)
	if n, out := sync(); n != 0 || !strings.Contains(out, "already in the workspace") {
		t.Errorf("second boot's sync: %d\n%s", n, out)
	}
	if d := diffSnapshots(before, snapshot(t, root, append(bootSkip, WorkspaceSync)...)); len(d) > 0 {
		t.Errorf("the restart changed files:\n%s", strings.Join(d, "\n"))
	}

	for _, c := range []struct {
		env  []string
		note string
	}{
		{[]string{"WORKSPACE_MOUNTED=false"}, "the workspace is not a mounted volume: OPT_SYNC folders stay in /opt"},
		{[]string{"WORKSPACE_MOUNTED=force", "WORKSPACE_SYNC=false"}, "WORKSPACE_SYNC=false: OPT_SYNC folders stay in /opt"},
	} {
		root := newRoot(t)
		write(t, filepath.Join(root, "opt/ComfyUI/main.py"), "x\n")
		r := runBoot(t, root, append(append(baseEnv(), "OPT_SYNC=ComfyUI"), c.env...), nil, "")
		if r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := os.Stat(filepath.Join(root, WorkspaceSync)); err == nil || !strings.Contains(r.logged, c.note) {
			t.Errorf("%s: the marker stays or the log lacks %q:\n%s", c.env, c.note, r.logged)
		}
		if st, err := os.Lstat(filepath.Join(root, "opt/ComfyUI")); err != nil || !st.IsDir() {
			t.Errorf("%s: /opt/ComfyUI was touched", c.env)
		}
	}
}

package provisioner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/portal/registry"
)

// Vast's PORTAL_CONFIG becomes registrations the portal, Caddy and the
// quick tunnels read; the portal's own entry, a direct entry and a bad
// one are not written, the latter two with a warning naming them; an
// application's own registration is kept.
func TestBoot_PortalConfigBecomesRegistrations(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	own := `{"listen_port":"17861","service_name":"Own"}`
	write(t, filepath.Join(root, HTTPPorts, "7861"), own)
	cfg := "PORTAL_CONFIG=localhost:1111:11111:/:Instance Portal|localhost:8080:18080:/lab:Jupyter|" +
		"localhost:8384:8384:/:Syncthing|localhost:7861:17000:/:Theirs|example.com:9:10:/:Far"
	r := runBoot(t, root, append(baseEnv(), cfg), nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	es, err := registry.Scan(filepath.Join(root, HTTPPorts))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Reg == nil {
			t.Errorf("%s: %s", e.File, e.Err)
			continue
		}
		got = append(got, e.Reg.Name+" "+e.Reg.Path)
	}
	if strings.Join(got, ",") != "Own ,Jupyter /lab" {
		t.Errorf("registrations %q, want the application's own on 7861 and Jupyter on 8080", got)
	}
	for _, w := range []string{`PORTAL_CONFIG "Syncthing": external port = internal port 8384`, `PORTAL_CONFIG entry 5: hostname "example.com"`} {
		if !strings.Contains(r.logged, w) {
			t.Errorf("no warning %q in:\n%s", w, r.logged)
		}
	}
	// The boot run again (a restarted container) leaves them as they are.
	before, _ := os.ReadFile(filepath.Join(root, HTTPPorts, "8080"))
	if r := runBoot(t, root, append(baseEnv(), cfg), nil, ""); r.err != nil {
		t.Fatal(r.err)
	}
	after, _ := os.ReadFile(filepath.Join(root, HTTPPorts, "8080"))
	if string(before) != string(after) {
		t.Errorf("registration changed on a second boot: %s → %s", before, after)
	}
}

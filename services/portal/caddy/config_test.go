package caddy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild_Rejects(t *testing.T) {
	for _, o := range []Options{
		{PortalAddr: "127.0.0.1:11111"},
		{AdminSocket: "/run/a.sock", PortalAddr: "127.0.0.1:11111", Sites: []Site{{PublicPort: 0, Upstream: 1}}},
		{AdminSocket: "/run/a.sock", PortalAddr: "127.0.0.1:11111", Sites: []Site{{PublicPort: 1, Upstream: 70000}}},
		{AdminSocket: "/run/a.sock", PortalAddr: "127.0.0.1:11111", Sites: []Site{{PublicPort: 5, Upstream: 1}, {PublicPort: 5, Upstream: 2}}},
	} {
		if _, err := Build(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestBuild_CaddyValidates checks the configuration with Caddy itself.
func TestBuild_CaddyValidates(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Build(Options{AdminSocket: filepath.Join(dir, "a.sock"), PortalAddr: "127.0.0.1:11111",
		Sites: []Site{{PublicPort: 1111, Upstream: 11111, Portal: true}, {PublicPort: 8188, Upstream: 18188}},
		TLS:   &TLS{CertFile: "/opt/caddy/tls/container.crt", KeyFile: "/opt/caddy/tls/container.key"}})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(cfg, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `"uri":"/.gpudesk/auth"`) || strings.Count(string(cfg), `"uri":"/.gpudesk/auth"`) != 1 {
		t.Fatalf("forward_auth should guard the one backend site:\n%s", cfg)
	}
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed")
	}
	cfg, _ = Build(Options{AdminSocket: filepath.Join(dir, "a.sock"), PortalAddr: "127.0.0.1:11111",
		Sites: []Site{{PublicPort: 1111, Upstream: 11111, Portal: true}, {PublicPort: 8188, Upstream: 18188}}})
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, cfg, 0o644)
	cmd := exec.Command("caddy", "validate", "--config", p)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
}

// TestBaseConfig validates the image's base configuration, which Caddy
// starts with before the portal loads its own.
func TestBaseConfig(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("caddy", "validate", "--config", "../../../images/base/etc/caddy/gpudesk-base.json")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	b, _ := os.ReadFile("../../../images/base/etc/caddy/gpudesk-base.json")
	var v struct{ Admin struct{ Listen string } }
	json.Unmarshal(b, &v)
	if v.Admin.Listen != "unix//run/gpudesk/caddy-admin.sock" {
		t.Fatalf("admin listens on %q; the portal's default is unix//run/gpudesk/caddy-admin.sock", v.Admin.Listen)
	}
}

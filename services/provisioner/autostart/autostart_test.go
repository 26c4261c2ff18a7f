package autostart

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

func TestUsed(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.conf"), []byte("[program:a]\nautostart=%(ENV_AUTOSTART_A)s\nuser=%(ENV_USER_NAME)s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.conf"), []byte("[program:b]\nautostart=%(ENV_AUTOSTART_MY_APP)s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("%(ENV_AUTOSTART_IGNORED)s"), 0o644)
	got, err := Used(dir)
	if err != nil || !reflect.DeepEqual(got, []string{"AUTOSTART_A", "AUTOSTART_MY_APP"}) {
		t.Errorf("%v %v", got, err)
	}
}

func TestDecide(t *testing.T) {
	e := env.New()
	e.Set("SUPERVISOR_NO_AUTOSTART", "my-app.conf, comfyui")
	e.Set("CF_TUNNEL_TOKEN", "x")
	vars, warn := Decide([]string{"AUTOSTART_MY_APP", "AUTOSTART_OTHER"}, e, Facts{SSHKeys: 1})
	want := map[string]string{"AUTOSTART_MY_APP": "false", "AUTOSTART_OTHER": "true", "AUTOSTART_COMFYUI": "false",
		"AUTOSTART_SSHD": "true", "AUTOSTART_CLOUDFLARED": "true", "AUTOSTART_CADDY": "true"}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if len(warn) != 1 || warn[0] != "SUPERVISOR_NO_AUTOSTART names comfyui, but no conf.d file reads %(ENV_AUTOSTART_COMFYUI)s; it starts as its file says" {
		t.Errorf("warnings %q", warn)
	}
	vars, _ = Decide(nil, env.New(), Facts{})
	if vars["AUTOSTART_CLOUDFLARED"] != "false" || vars["AUTOSTART_SSHD"] != "false" || vars["AUTOSTART_LOGTAIL"] != "true" {
		t.Errorf("no token, no keys: %v", vars)
	}
}

func TestDecide_QuickTunnelsCount(t *testing.T) {
	for v, want := range map[string]struct {
		value string
		warn  int
	}{"": {"true", 0}, "0": {"false", 0}, "3": {"true", 1}, "many": {"true", 1}, "-1": {"true", 1}} {
		e := env.New()
		e.Set("CF_QUICK_TUNNELS_COUNT", v)
		vars, warn := Decide(nil, e, Facts{SSHKeys: 1})
		if vars["AUTOSTART_QUICKTUNNEL"] != want.value || len(warn) != want.warn {
			t.Errorf("CF_QUICK_TUNNELS_COUNT=%q: AUTOSTART_QUICKTUNNEL=%s, warnings %q", v, vars["AUTOSTART_QUICKTUNNEL"], warn)
		}
	}
}

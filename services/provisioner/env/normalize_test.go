package env

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	files := map[string]string{"/s/tok": "file-token\n", "/s/key": "ssh-ed25519 AAAA k\n"}
	read := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("no such file or directory")
	}
	e, warn := Normalize(Input{
		Environ: []string{
			`QUOTED="a b"`, "SPACED=a___b", "ONEQUOTE='x", "APP_FLAGS=--fast", "OTHER_FLAGS=-x", "OTHER_ARGS=kept",
			"WEB_PORT_HOST=70001", "VAST_TCP_PORT_70001=40001", "UDP_PORT_HOST=70002", "VAST_UDP_PORT_70002=40002",
			"RP_PORT_HOST=70003", "RUNPOD_TCP_PORT_70003=40003", "LOW_PORT_HOST=8080", "BAD_PORT_HOST=eighty",
			"HF_TOKEN_FILE=/s/tok", "SSH_PUBKEY_FILE=/s/key", "CONFIG_FILE=/etc/app.yaml", "CF_TUNNEL_TOKEN_FILE=/missing",
		},
		Args:     []string{"ARG='quoted arg'", "=novalue", "1BAD=x", "EMPTY="},
		ReadFile: read,
	})
	for k, want := range map[string]string{
		"QUOTED": "a b", "SPACED": "a b", "ONEQUOTE": "'x", "APP_ARGS": "--fast", "OTHER_ARGS": "kept",
		"WEB_PORT_HOST": "40001", "UDP_PORT_HOST": "40002", "RP_PORT_HOST": "40003", "LOW_PORT_HOST": "8080",
		"BAD_PORT_HOST": "eighty", "HF_TOKEN": "file-token", "SSH_PUBKEY": "ssh-ed25519 AAAA k", "ARG": "quoted arg", "EMPTY": "",
	} {
		if got, ok := e.Lookup(k); !ok || got != want {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, want)
		}
	}
	if _, ok := e.Lookup("CONFIG"); ok {
		t.Error("CONFIG_FILE is an ordinary setting, not a secret file")
	}
	joined := strings.Join(warn, "\n")
	for _, w := range []string{"argument 2 is not NAME=VALUE", "argument 3 is not NAME=VALUE", "BAD_PORT_HOST is not a port number", "CF_TUNNEL_TOKEN_FILE: cannot read /missing"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning %q in:\n%s", w, joined)
		}
	}
	if len(warn) != 4 {
		t.Errorf("warnings:\n%s", joined)
	}
}

func TestNormalize_Vast(t *testing.T) {
	e, _ := Normalize(Input{Environ: []string{"OPEN_BUTTON_TOKEN=obt", "VAST_CONTAINERLABEL=C.1"}})
	if e.Get("WEB_TOKEN") != "obt" || e.Get("WEB_USER") != "vastai" || e.Get("WEB_PASSWORD") != "obt" {
		t.Errorf("vast: %v", e.Environ())
	}
	e, _ = Normalize(Input{Environ: []string{"OPEN_BUTTON_TOKEN=obt", "VAST_CONTAINERLABEL=C.1", "WEB_PASSWORD=mine", "WEB_USER=me"}})
	if e.Get("WEB_PASSWORD") != "mine" || e.Get("WEB_USER") != "me" {
		t.Errorf("chosen credentials replaced: %v", e.Environ())
	}
	e, _ = Normalize(Input{Environ: []string{"OPEN_BUTTON_TOKEN=obt"}})
	if e.Get("WEB_TOKEN") != "" {
		t.Error("not on Vast without a Vast variable")
	}
}

func TestIsSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"WEB_PASSWORD": true, "WEB_TOKEN": true, "HF_TOKEN": true, "OPENAI_API_KEY": true, "AWS_SECRET_ACCESS_KEY": true,
		"CLIENT_SECRET": true, "COTURN_PASSWORD": true, "OPEN_BUTTON_TOKEN": true, "WEB_PASSWORD_HASH": true,
		"PUBLIC_KEY": false, "SSH_PUBLIC_KEY": false, "SSH_PUBKEY": false, "WEB_USER": false, "PATH": false, "KEYBOARD": false,
	} {
		if IsSecret(name) != want {
			t.Errorf("IsSecret(%s) = %v", name, !want)
		}
	}
}

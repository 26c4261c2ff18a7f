package provisioner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBoot_PreflightScripts: the scripts of preflight.d run in name order
// before supervisord, without secrets, their output timestamped in
// preflight.log; one that fails or hangs is a warning and the boot goes
// on; PREFLIGHT_ENV sets variables for the next scripts and supervisord.
func TestBoot_PreflightScripts(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	dir := filepath.Join(root, PreflightDir)
	order := filepath.Join(root, "order")
	write(t, filepath.Join(dir, "10-first.sh"), "echo first >> "+order+"\necho \"hf=${HF_TOKEN:-none} user=$USER_NAME\"\r\necho 'DISPLAY_SIZEW=1920' >> \"$PREFLIGHT_ENV\"\necho 'bad line' >> \"$PREFLIGHT_ENV\"\n")
	write(t, filepath.Join(dir, "20-fails.sh"), "echo second >> "+order+"\necho about to fail\nexit 3\n")
	write(t, filepath.Join(dir, "30-hangs.sh"), "echo third >> "+order+"\nexec sleep 600\n")
	write(t, filepath.Join(dir, "40-sees.sh"), "#!/bin/sh\necho \"fourth $DISPLAY_SIZEW\" >> "+order+"\n")
	write(t, filepath.Join(dir, "README.txt"), "not a script\n")
	t0 := time.Now()
	r := runBoot(t, root, append(baseEnv(), "HF_TOKEN=hf-preflight-secret", "PREFLIGHT_TIMEOUT=2s"), nil, "")
	if r.err != nil {
		t.Fatalf("boot: %v\n%s", r.err, r.logged)
	}
	if d := time.Since(t0); d > 2*time.Minute {
		t.Errorf("the hanging script held the boot for %v", d)
	}
	if got := read(t, order); got != "first\nsecond\nthird\nfourth 1920\n" {
		t.Errorf("scripts ran as %q", got)
	}
	if envOf(r.plan)["DISPLAY_SIZEW"] != "1920" {
		t.Errorf("PREFLIGHT_ENV did not reach supervisord's environment")
	}
	log := read(t, filepath.Join(root, PreflightLog))
	if !strings.Contains(log, " hf=none user=user\n") || !strings.Contains(log, " about to fail\n") {
		t.Errorf("preflight.log lacks the scripts' output (or a script got a secret):\n%s", log)
	}
	if strings.Contains(log, "\r") || strings.Contains(log, "hf-preflight-secret") {
		t.Errorf("preflight.log holds a CR or the secret:\n%s", log)
	}
	for _, want := range []string{
		"preflight 20-fails.sh failed after",
		"the script failed: exit status 3",
		"preflight 30-hangs.sh failed after",
		"stopped after PREFLIGHT_TIMEOUT (2s)",
		"preflight 10-first.sh: $PREFLIGHT_ENV line 2 is not NAME=VALUE; ignored",
		"boot: preflight 40-sees.sh done in",
	} {
		if !strings.Contains(r.logged, want) {
			t.Errorf("the boot's log lacks %q:\n%s", want, r.logged)
		}
	}
	if _, err := os.Stat(filepath.Join(root, PreflightEnv)); err == nil {
		t.Error("the PREFLIGHT_ENV file was left")
	}
}

// TestBoot_SSHPortAndUmask: SSH_PORT_LOCAL is always set (default 22; the
// old SSH_PORT; a bad value is a warning), and UMASK reaches the plan and
// the SetUmask hook (default 002, ai-dock's).
func TestBoot_SSHPortAndUmask(t *testing.T) {
	needRoot(t)
	for _, c := range []struct {
		env        []string
		port, mask string
		umask      int
		warn       string
	}{
		{nil, "22", "0002", 0o002, ""},
		{[]string{"SSH_PORT=2222"}, "2222", "0002", 0o002, ""},
		{[]string{"SSH_PORT_LOCAL=2200", "UMASK=022"}, "2200", "0022", 0o022, ""},
		{[]string{"SSH_PORT_LOCAL=ssh", "UMASK=8"}, "22", "0002", 0o002, "SSH_PORT_LOCAL is not a port number"},
	} {
		root := newRoot(t)
		got := -1
		var console, logged strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		plan, err := Boot(ctx, BootOptions{Root: root, Environ: append(baseEnv(), c.env...), Supervisord: fakeSupervisord(t),
			Console: &console, Log: &logged, SetUmask: func(m int) { got = m }})
		cancel()
		if err != nil {
			t.Fatalf("%q: %v", c.env, err)
		}
		e := envOf(plan)
		if e["SSH_PORT_LOCAL"] != c.port || e["UMASK"] != c.mask || plan.Umask != c.umask || got != c.umask {
			t.Errorf("%q: SSH_PORT_LOCAL=%s UMASK=%s plan %o hook %o; want %s %s %o", c.env, e["SSH_PORT_LOCAL"], e["UMASK"], plan.Umask, got, c.port, c.mask, c.umask)
		}
		if c.warn != "" && (!strings.Contains(logged.String(), c.warn) || !strings.Contains(logged.String(), "UMASK is not an octal mask")) {
			t.Errorf("%q: no warnings for the bad values:\n%s", c.env, logged.String())
		}
	}
}

// Package autostart decides which supervised programs start on their own,
// without editing the shipped conf.d files (ai-dock rewrote their
// autostart= lines in place, so a choice stuck across boots): each file
// says autostart=%(ENV_AUTOSTART_<NAME>)s and the boot sets every such
// variable to true or false before supervisord reads the files. Python
// supervisor 4.2.5 refuses a file whose %(ENV_X)s is unset, so every
// variable any file uses is always set.
package autostart

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

// Known are the programs of the images (conf.d file names) whose
// variables are set even when no file uses them yet.
var Known = []string{
	"caddy", "cloudflared", "coturn", "dbus", "fcitx", "jupyter", "kasmvnc", "kasmxproxy",
	"kde-plasma", "logtail", "novnc", "pipewire", "pipewire-pulse", "portal", "provisioner",
	"quicktunnel", "selkies-gstreamer", "serviceportal", "sshd", "storagemonitor", "syncthing",
	"wireplumber", "x-server",
}

// Serverless are the programs SERVERLESS=true keeps from starting: the
// proxy, the portal, tunnels, sshd, syncthing and the desktop; what is
// left is the application itself, for the fastest start.
var Serverless = []string{
	"caddy", "cloudflared", "coturn", "dbus", "fcitx", "jupyter", "kasmvnc", "kasmxproxy",
	"kde-plasma", "novnc", "pipewire", "pipewire-pulse", "portal", "quicktunnel",
	"selkies-gstreamer", "serviceportal", "sshd", "syncthing", "wireplumber", "x-server",
}

// Var returns the variable of a program: AUTOSTART_ and the name in
// capitals with every other character than a letter or digit as _.
func Var(name string) string {
	var b strings.Builder
	b.WriteString("AUTOSTART_")
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var ref = regexp.MustCompile(`%\(ENV_(AUTOSTART_[A-Za-z0-9_]+)\)s`)

// Used returns the AUTOSTART_ variables the *.conf files of dir read.
func Used(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		for _, m := range ref.FindAllSubmatch(b, -1) {
			set[string(m[1])] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Facts are what the decision depends on besides the environment.
type Facts struct {
	SSHKeys int // keys in root's authorized_keys: sshd is off without any
}

// Decide returns the value of every toggle variable (the used ones and
// Known), and warnings for names of SUPERVISOR_NO_AUTOSTART that no file
// reads (they start anyway).
func Decide(used []string, e *env.Env, f Facts) (map[string]string, []string) {
	var warn []string
	vars := map[string]string{}
	for _, v := range used {
		vars[v] = "true"
	}
	for _, n := range Known {
		vars[Var(n)] = "true"
	}
	usedSet := map[string]bool{}
	for _, v := range used {
		usedSet[v] = true
	}
	off := func(name string) { vars[Var(name)] = "false" }
	for _, name := range strings.Split(e.Get("SUPERVISOR_NO_AUTOSTART"), ",") {
		if name = strings.TrimSuffix(strings.TrimSpace(name), ".conf"); name == "" {
			continue
		}
		off(name)
		if !usedSet[Var(name)] {
			warn = append(warn, fmt.Sprintf("SUPERVISOR_NO_AUTOSTART names %s, but no conf.d file reads %%(ENV_%s)s; it starts as its file says", name, Var(name)))
		}
	}
	if e.Get("CF_TUNNEL_TOKEN") == "" {
		off("cloudflared")
	}
	if v, ok := e.Bool("CF_QUICK_TUNNELS", true); ok && !v {
		off("quicktunnel")
	}
	// ai-dock computed CF_QUICK_TUNNELS_COUNT for numprocs= of its
	// quick-tunnel copies; here one program gives every registered
	// service its tunnel, so only 0 (none) still means something.
	if v := strings.TrimSpace(e.Get("CF_QUICK_TUNNELS_COUNT")); v != "" {
		switch n, err := strconv.Atoi(v); {
		case err != nil || n < 0:
			warn = append(warn, "CF_QUICK_TUNNELS_COUNT is not a whole number; ignored (every registered web service gets its quick tunnel)")
		case n == 0:
			off("quicktunnel")
		default:
			warn = append(warn, "CF_QUICK_TUNNELS_COUNT is ignored unless 0: every registered web service gets its quick tunnel (CF_QUICK_TUNNELS=false turns them off)")
		}
	}
	if f.SSHKeys == 0 {
		off("sshd")
	}
	serverless, ok := e.Bool("SERVERLESS", false)
	if !ok {
		warn = append(warn, "SERVERLESS is not true or false; taken as false")
	}
	if serverless {
		for _, n := range Serverless {
			off(n)
		}
	}
	return vars, warn
}

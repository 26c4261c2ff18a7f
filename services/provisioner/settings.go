package provisioner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

// DefaultUmask is ai-dock's (init.sh and root's .bashrc said umask 002):
// files the user's programs make stay writable by the group, so the
// ai-dock group shares /opt and the workspace.
const DefaultUmask = 0o002

// DefaultSSHPort is where sshd listens without SSH_PORT_LOCAL.
const DefaultSSHPort = "22"

// sshPort sets SSH_PORT_LOCAL to a valid port, always: conf.d/sshd.conf
// reads %(ENV_SSH_PORT_LOCAL)s, which Python supervisor refuses when
// unset. SSH_PORT was the older name (the seed README's).
func sshPort(e *env.Env) []string {
	var warn []string
	if e.Get("SSH_PORT_LOCAL") == "" && e.Get("SSH_PORT") != "" {
		e.Set("SSH_PORT_LOCAL", e.Get("SSH_PORT"))
	}
	v := strings.TrimSpace(e.Get("SSH_PORT_LOCAL"))
	if v == "" {
		e.Set("SSH_PORT_LOCAL", DefaultSSHPort)
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		warn = append(warn, "SSH_PORT_LOCAL is not a port number (1 to 65535); using "+DefaultSSHPort)
		v = DefaultSSHPort
	} else {
		v = strconv.Itoa(n)
	}
	e.Set("SSH_PORT_LOCAL", v)
	return warn
}

// umask reads UMASK (octal, such as 002 or 0022), sets it back in a
// normal form for scripts and returns the mask.
func umask(e *env.Env) (int, []string) {
	v := strings.TrimSpace(e.Get("UMASK"))
	mask := DefaultUmask
	var warn []string
	if v != "" {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o777 {
			warn = append(warn, fmt.Sprintf("UMASK is not an octal mask from 000 to 777 (such as 002 or 022); using %04o", DefaultUmask))
		} else {
			mask = int(n)
		}
	}
	e.Set("UMASK", fmt.Sprintf("%04o", mask))
	return mask, warn
}

package secrets

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/services/provisioner/account"
	"github.com/gpudesk/runtime/services/provisioner/env"
)

// ExecSpec is one exec-with-secret call: run Argv with the secrets it
// names added to its environment, as User when set.
type ExecSpec struct {
	Root  string // for etc/passwd and etc/group ("/" in a container)
	Store Store
	// Pairs maps the variable the program reads to the stored secret it
	// gets (TUNNEL_TOKEN ← CF_TUNNEL_TOKEN); usually the same name.
	Pairs   [][2]string
	User    string // drop to this user (etc/passwd of Root) before exec
	Argv    []string
	Environ []string
}

// Prepare resolves everything Exec needs, so a mistake is an error before
// anything is run: the program's path, its environment, its credential.
func Prepare(spec ExecSpec) (path string, environ []string, cred *syscall.Credential, err error) {
	if len(spec.Argv) == 0 {
		return "", nil, nil, fmt.Errorf("no command after --")
	}
	e := env.Parse(spec.Environ)
	for _, p := range spec.Pairs {
		if !env.ValidName(p[0]) {
			return "", nil, nil, fmt.Errorf("variable name %q: only letters, digits and _", p[0])
		}
		v, err := spec.Store.Get(p[1])
		if err != nil {
			return "", nil, nil, err
		}
		e.Set(p[0], v)
	}
	if spec.User != "" {
		u, ok, err := account.LookupUser(spec.Root, spec.User)
		if err != nil {
			return "", nil, nil, err
		}
		if !ok {
			return "", nil, nil, fmt.Errorf("--user %s: no such user in %s/etc/passwd", spec.User, strings.TrimSuffix(spec.Root, "/"))
		}
		gids, err := account.SupplementaryGIDs(spec.Root, u.Name)
		if err != nil {
			return "", nil, nil, err
		}
		groups := make([]uint32, len(gids))
		for i, g := range gids {
			groups[i] = uint32(g)
		}
		cred = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
		e.Set("HOME", u.Home)
		e.Set("USER", u.Name)
		e.Set("LOGNAME", u.Name)
	}
	path, err = exec.LookPath(spec.Argv[0])
	if err != nil {
		return "", nil, nil, fmt.Errorf("command %s: %w", spec.Argv[0], err)
	}
	return path, e.Environ(), cred, nil
}

// Exec replaces the calling process by the program (it returns only on
// failure). The secrets travel in its environment only: never on its
// command line, never in a file it did not ask for.
func Exec(spec ExecSpec) error {
	path, environ, cred, err := Prepare(spec)
	if err != nil {
		return err
	}
	if cred != nil {
		// Go's Setgroups/Setgid/Setuid apply to every thread of the process.
		if err := syscall.Setgroups(intSlice(cred.Groups)); err != nil {
			return fmt.Errorf("setgroups for --user %s: %w", spec.User, err)
		}
		if err := syscall.Setgid(int(cred.Gid)); err != nil {
			return fmt.Errorf("setgid for --user %s: %w", spec.User, err)
		}
		if err := syscall.Setuid(int(cred.Uid)); err != nil {
			return fmt.Errorf("setuid for --user %s: %w", spec.User, err)
		}
	}
	if err := syscall.Exec(path, spec.Argv, environ); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

func intSlice(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}

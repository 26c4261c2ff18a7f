// Package rclonemount mounts every configured rclone remote (rclone's own
// RCLONE_CONFIG_<NAME>_<KEY> variables and/or the file at RCLONE_CONFIG)
// at $WORKSPACE/remote/<name> with `rclone mount`, keeps each mount up
// (a mount that dies is unmounted and mounted again, with backoff) and
// unmounts them all on stop, so no `Transport endpoint is not connected`
// folder is left behind.
package rclonemount

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Host is where the preconditions are read (paths are injectable so that
// tests can hide /dev/fuse).
type Host struct {
	FuseDevice string // /dev/fuse
	Proc       string // /proc
}

// Missing returns one sentence per precondition of a FUSE mount that this
// container lacks (the seed README's list), empty when mounts can work.
func (h Host) Missing() []string {
	var out []string
	if fi, err := os.Stat(h.FuseDevice); err != nil {
		out = append(out, fmt.Sprintf("%s is missing: run the container with --device /dev/fuse (the host needs the fuse module loaded and fuse3 installed)", h.FuseDevice))
	} else if fi.Mode()&os.ModeCharDevice == 0 {
		out = append(out, fmt.Sprintf("%s is not a character device: pass the host's /dev/fuse with --device /dev/fuse", h.FuseDevice))
	}
	if b, err := os.ReadFile(h.Proc + "/filesystems"); err == nil && !strings.Contains(string(b), "\tfuse\n") && !strings.Contains(string(b), "\tfuse") {
		out = append(out, "the kernel has no fuse file system (not in /proc/filesystems): load the fuse module on the host (modprobe fuse)")
	}
	if ok, err := capSysAdmin(h.Proc + "/self/status"); err == nil && !ok {
		out = append(out, "the container lacks CAP_SYS_ADMIN, which mounting needs: run it with --cap-add SYS_ADMIN")
	}
	return out
}

// AppArmorHint is a warning when the container runs under an AppArmor
// profile, whose default (docker-default) denies mount.
func (h Host) AppArmorHint() string {
	b, err := os.ReadFile(h.Proc + "/self/attr/current")
	if err != nil {
		return ""
	}
	p := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
	if p == "" || p == "unconfined" {
		return ""
	}
	return fmt.Sprintf("AppArmor profile %q may deny mounts: if a mount fails with \"permission denied\", run the container with --security-opt apparmor:unconfined", p)
}

// capSysAdmin reads the effective capabilities of a /proc/<pid>/status.
func capSysAdmin(status string) (bool, error) {
	f, err := os.Open(status)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("%s: CapEff %q: %w", status, v, err)
			}
			const capSysAdmin = 21
			return caps&(1<<capSysAdmin) != 0, nil
		}
	}
	return false, fmt.Errorf("%s: no CapEff line", status)
}

// EnvProblems reports RCLONE_CONFIG_<NAME>_<KEY> variables that define
// no remote because no RCLONE_CONFIG_<NAME>_TYPE matches them (rclone
// ignores them silently); types are the remotes' names that have a type.
func EnvProblems(environ []string, typed map[string]bool) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(k, "RCLONE_CONFIG_")
		if !ok || strings.HasSuffix(rest, "_TYPE") || !strings.Contains(rest, "_") {
			continue
		}
		found := false
		for name := range typed {
			if strings.HasPrefix(strings.ToLower(rest), name+"_") {
				found = true
				break
			}
		}
		if !found {
			i := strings.LastIndexByte(rest, '_')
			out = append(out, fmt.Sprintf("%s defines no remote: remote %q needs RCLONE_CONFIG_%s_TYPE (the backend, such as s3, sftp, drive); it is not mounted", k, strings.ToLower(rest[:i]), rest[:i]))
		}
	}
	return out
}

package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/bcrypt"
)

// DefaultGroups is ai-dock's USER_GROUPS default; the groups the image
// does not have are skipped.
const DefaultGroups = "users,ai-dock,adm,sudo,audio,video,tty,cdrom,dialout,dip,fax,floppy,lp,plugdev,ssl-cert,tape,voice,input,lpadmin"

// SudoersFile is where the user's sudo rule lives, below the root.
const SudoersFile = "etc/sudoers.d/90-gpudesk-user"

// Spec says what the user should look like.
type Spec struct {
	Root string // the root folder ("/" in a container)
	Name string
	UID  int
	GID  int
	// Home is the home in etc/passwd (/home/NAME). When HomeTarget is set
	// (a mounted workspace), Home is a symlink to it and the files live
	// on the volume.
	Home       string
	HomeTarget string
	Groups     []string
	// DeviceNodes are GPU device nodes (relative to Root): the user joins
	// the group of each, made (render) when the image has none with its gid.
	DeviceNodes []string
	// Password, when set, is hashed (bcrypt) and written to etc/shadow
	// through chpasswd's standard input, never on a command line.
	Password string
	Sudo     bool
}

// Ensure makes the user match spec. It changes nothing that already
// matches, so a second boot leaves every file as it was. Notes are things
// a user may want to know (a group the image lacks); the error is
// returned when the account cannot be made.
func Ensure(ctx context.Context, spec Spec) (notes []string, err error) {
	r := runner{root: spec.Root}
	gid, err := ensurePrimaryGroup(ctx, r, spec)
	if err != nil {
		return notes, err
	}
	if err := ensureUser(ctx, r, spec, gid); err != nil {
		return notes, err
	}
	if err := ensureHome(spec, gid); err != nil {
		return notes, err
	}
	n, err := ensureGroups(ctx, r, spec)
	notes = append(notes, n...)
	if err != nil {
		return notes, err
	}
	if spec.Password != "" {
		if err := ensurePassword(ctx, r, spec); err != nil {
			return notes, err
		}
	}
	return notes, ensureSudo(spec)
}

type runner struct{ root string }

func (r runner) prefixed(tool string, args ...string) *exec.Cmd {
	if r.root != "" && r.root != "/" {
		args = append([]string{"--prefix", r.root}, args...)
	}
	return exec.Command(tool, args...)
}

func (r runner) run(ctx context.Context, cmd *exec.Cmd, stdin io.Reader) error {
	var out bytes.Buffer
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = stdin, &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func ensurePrimaryGroup(ctx context.Context, r runner, spec Spec) (int, error) {
	groups, err := Groups(spec.Root)
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if g.GID == spec.GID {
			return g.GID, nil
		}
	}
	name := spec.Name
	for _, g := range groups {
		if g.Name == name {
			name = fmt.Sprintf("%s%d", spec.Name, spec.GID)
		}
	}
	if err := r.run(ctx, r.prefixed("groupadd", "-g", fmt.Sprint(spec.GID), name), nil); err != nil {
		return 0, fmt.Errorf("making the group of USER_NAME: %w", err)
	}
	return spec.GID, nil
}

func ensureUser(ctx context.Context, r runner, spec Spec, gid int) error {
	users, err := Users(spec.Root)
	if err != nil {
		return err
	}
	uidTaken := false
	for _, u := range users {
		if u.Name == spec.Name {
			if u.UID == spec.UID && u.GID == gid && u.Home == spec.Home {
				return nil
			}
			args := []string{"-o", "-u", fmt.Sprint(spec.UID), "-g", fmt.Sprint(gid), "-d", spec.Home, spec.Name}
			if err := r.run(ctx, r.prefixed("usermod", args...), nil); err != nil {
				return fmt.Errorf("updating user %s (USER_NAME): %w", spec.Name, err)
			}
			return nil
		}
		if u.UID == spec.UID {
			uidTaken = true
		}
	}
	args := []string{"-M", "-s", "/bin/bash", "-u", fmt.Sprint(spec.UID), "-g", fmt.Sprint(gid), "-d", spec.Home}
	if uidTaken {
		args = append(args, "-o") // the workspace's owner uid is already someone's (ubuntu): share it
	}
	if err := r.run(ctx, r.prefixed("useradd", append(args, spec.Name)...), nil); err != nil {
		return fmt.Errorf("making user %s (USER_NAME): %w", spec.Name, err)
	}
	return nil
}

func ensureHome(spec Spec, gid int) error {
	home := filepath.Join(spec.Root, spec.Home)
	dir := home
	if spec.HomeTarget != "" {
		dir = filepath.Join(spec.Root, spec.HomeTarget)
	}
	if err := mkdirOwned(dir, 0o750, spec.UID, gid); err != nil {
		return err
	}
	if spec.HomeTarget != "" {
		if err := linkHome(home, spec.HomeTarget); err != nil {
			return err
		}
	}
	skel := filepath.Join(spec.Root, "etc/skel")
	entries, _ := os.ReadDir(skel)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		dst := filepath.Join(dir, e.Name())
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(skel, e.Name()))
		if err != nil {
			continue
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("copying %s into the home: %w", e.Name(), err)
		}
		os.Lchown(dst, spec.UID, gid)
	}
	return nil
}

// linkHome makes home a symlink to target, replacing an empty folder the
// image may have made; a folder with files in it is left and reported.
func linkHome(home, target string) error {
	if cur, err := os.Readlink(home); err == nil {
		if cur == target {
			return nil
		}
		os.Remove(home)
	} else if st, err := os.Lstat(home); err == nil && st.IsDir() {
		if err := os.Remove(home); err != nil {
			return fmt.Errorf("home %s is a folder with files in it; it cannot become a link to %s on the workspace: %w", home, target, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, home); err != nil {
		return fmt.Errorf("linking the home %s to %s: %w", home, target, err)
	}
	return nil
}

func mkdirOwned(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok && (int(s.Uid) != uid || int(s.Gid) != gid) {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	if st.Mode().Perm() != mode {
		os.Chmod(dir, mode)
	}
	return nil
}

func ensureGroups(ctx context.Context, r runner, spec Spec) ([]string, error) {
	var notes []string
	groups, err := Groups(spec.Root)
	if err != nil {
		return nil, err
	}
	byName := map[string]Group{}
	byGID := map[int]Group{}
	for _, g := range groups {
		byName[g.Name] = g
		if _, ok := byGID[g.GID]; !ok {
			byGID[g.GID] = g
		}
	}
	want := map[string]bool{}
	var order []string
	add := func(name string) {
		if !want[name] {
			want[name] = true
			order = append(order, name)
		}
	}
	for _, name := range spec.Groups {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if _, ok := byName[name]; !ok {
			notes = append(notes, fmt.Sprintf("USER_GROUPS: group %s does not exist in this image; skipped", name))
			continue
		}
		add(name)
	}
	for _, node := range spec.DeviceNodes {
		st, err := os.Stat(filepath.Join(spec.Root, node))
		if err != nil {
			continue
		}
		s, ok := st.Sys().(*syscall.Stat_t)
		if !ok || s.Gid == 0 {
			continue
		}
		g, ok := byGID[int(s.Gid)]
		if !ok {
			name := "render"
			if _, taken := byName[name]; taken {
				name = fmt.Sprintf("render%d", s.Gid)
			}
			if err := r.run(ctx, r.prefixed("groupadd", "-g", fmt.Sprint(s.Gid), name), nil); err != nil {
				return notes, fmt.Errorf("making the group of %s: %w", node, err)
			}
			g = Group{Name: name, GID: int(s.Gid)}
			byName[name], byGID[g.GID] = g, g
		}
		add(g.Name)
	}
	var missing []string
	for _, name := range order {
		member := false
		for _, m := range byName[name].Members {
			member = member || m == spec.Name
		}
		if !member && byName[name].GID != spec.GID {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return notes, nil
	}
	if err := r.run(ctx, r.prefixed("usermod", "-a", "-G", strings.Join(missing, ","), spec.Name), nil); err != nil {
		return notes, fmt.Errorf("adding %s to its groups (USER_GROUPS): %w", spec.Name, err)
	}
	return notes, nil
}

// ShadowHash returns the password field of name in root/etc/shadow.
func ShadowHash(root, name string) (string, error) {
	lines, err := readLines(filepath.Join(root, "etc/shadow"))
	if err != nil {
		return "", err
	}
	for _, f := range lines {
		if len(f) >= 2 && f[0] == name {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s has no line in %s", name, filepath.Join(root, "etc/shadow"))
}

func ensurePassword(ctx context.Context, r runner, spec Spec) error {
	if cur, err := ShadowHash(spec.Root, spec.Name); err == nil && strings.HasPrefix(cur, "$2") &&
		bcrypt.CompareHashAndPassword([]byte(cur), []byte(spec.Password)) == nil {
		return nil
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(spec.Password), bcrypt.DefaultCost)
	if err != nil {
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return fmt.Errorf("USER_PASSWORD is longer than bcrypt's 72 bytes; not set")
		}
		return fmt.Errorf("hashing USER_PASSWORD: %w", err)
	}
	args := []string{"-e"}
	if spec.Root != "" && spec.Root != "/" {
		args = append(args, "-R", spec.Root) // chpasswd has no --prefix
	}
	in := strings.NewReader(spec.Name + ":" + string(hash) + "\n")
	if err := r.run(ctx, exec.Command("chpasswd", args...), in); err != nil {
		return fmt.Errorf("setting the password of %s (USER_PASSWORD): %w", spec.Name, err)
	}
	return nil
}

// ensureSudo gives the user ai-dock's passwordless sudo (and its PATH:
// ai-dock commented secure_path out so that environments' tools stay
// found), or takes it away with USER_SUDO=false.
func ensureSudo(spec Spec) error {
	path := filepath.Join(spec.Root, SudoersFile)
	if !spec.Sudo {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing %s (USER_SUDO=false): %w", path, err)
		}
		return nil
	}
	want := fmt.Sprintf("# Written by provisioner boot (USER_SUDO=false removes it).\n%s ALL=(ALL:ALL) NOPASSWD: ALL\nDefaults:%s !secure_path\n", spec.Name, spec.Name)
	if b, err := os.ReadFile(path); err == nil && string(b) == want {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(want), 0o440); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	os.Chmod(tmp, 0o440)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

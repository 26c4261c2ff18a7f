package provisioner

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gpudesk/runtime/services/provisioner/account"
	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

// bootSkip are the files a boot rewrites every time by design: its own
// log (appended) and the status with this boot's timings.
var bootSkip = []string{ConfigLog, bootstatus.File}

func mode(t *testing.T, path string) (os.FileMode, int, int) {
	t.Helper()
	st, err := os.Lstat(path)
	must(t, err)
	s := st.Sys().(*syscall.Stat_t)
	return st.Mode(), int(s.Uid), int(s.Gid)
}

// cryptMatches checks a shadow hash with the system's crypt(3), as login
// and su would.
func cryptMatches(t *testing.T, hash, password string) bool {
	t.Helper()
	// perl-base is in every Debian; its crypt is libcrypt's, as login's.
	out, err := exec.Command("perl", "-e", `print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "True" : "False"`, password, hash).CombinedOutput()
	if err != nil {
		t.Fatalf("perl crypt: %v %s", err, out)
	}
	return strings.TrimSpace(string(out)) == "True"
}

func TestBoot_FreshThenRestartChangesNothing(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	k1, k2, k3 := pubKey(t, "one@laptop"), pubKey(t, "two@desk"), pubKey(t, "three@mounted")
	write(t, filepath.Join(root, "root/.ssh/authorized_keys_mount"), k3+"\n")
	environ := append(baseEnv(),
		"SSH_PUBKEY="+k1+"\nnot a key at all\n",
		"PUBLIC_KEY="+k1, // RunPod's name for the same key: merged once
		"SSH_PUBLIC_KEY="+k2,
		"WEB_PASSWORD=correct horse battery",
		"WEB_TOKEN=tok-0123456789abcdef",
		"HF_TOKEN=hf_secretvalue123",
		"USER_PASSWORD=user-pass-42",
		"CF_TUNNEL_TOKEN=cf-tunnel-secret",
		"COMFYUI_FLAGS=--listen",
		"VAST_TCP_PORT_70000=41234",
		"JUPYTER_PORT_HOST=70000",
		"TZ=Europe/Paris",
	)
	args := []string{"GREETING='hello___world'", "not-an-assignment"}
	first := runBoot(t, root, environ, args, "")
	if first.err != nil {
		t.Fatalf("boot: %v\n%s", first.err, first.logged)
	}
	e := envOf(first.plan)

	// Environment handed to supervisord.
	for k, want := range map[string]string{
		"GREETING": "hello world", "COMFYUI_ARGS": "--listen", "JUPYTER_PORT_HOST": "41234",
		"USER_NAME": "user", "WORKSPACE": "/workspace", "WORKSPACE_UID": "1000", "WORKSPACE_MOUNTED": "false",
		"AUTOSTART_SSHD": "true", "AUTOSTART_CLOUDFLARED": "true", "AUTOSTART_PROVISIONER": "true",
		"PROVISIONING_USER": "user", "XPU_TARGET": "CPU", "GPU_COUNT": "0",
	} {
		if e[k] != want {
			t.Errorf("supervisord's %s = %q, want %q", k, e[k], want)
		}
	}
	for _, k := range []string{"WEB_PASSWORD", "WEB_TOKEN", "HF_TOKEN", "USER_PASSWORD", "CF_TUNNEL_TOKEN"} {
		if _, ok := e[k]; ok {
			t.Errorf("supervisord's environment holds the secret %s", k)
		}
		if !strings.Contains(e["LOGTAIL_REDACT"], k) {
			t.Errorf("LOGTAIL_REDACT %q does not name %s", e["LOGTAIL_REDACT"], k)
		}
	}
	if first.plan.Argv[1] != "-n" || first.plan.Argv[3] != filepath.Join(root, DefaultConf) {
		t.Errorf("argv %q", first.plan.Argv)
	}

	// The user, its password in the shadow file, sudo.
	u, ok, err := account.LookupUser(root, "user")
	if err != nil || !ok || u.UID != 1000 || u.GID != 1000 || u.Home != "/home/user" || u.Shell != "/bin/bash" {
		t.Fatalf("user %+v %v %v", u, ok, err)
	}
	hash, err := account.ShadowHash(root, "user")
	must(t, err)
	if !cryptMatches(t, hash, "user-pass-42") {
		t.Errorf("shadow hash %q does not verify USER_PASSWORD with crypt(3)", hash)
	}
	if m, _, _ := mode(t, filepath.Join(root, "etc/shadow")); m.Perm() != 0o640 {
		t.Errorf("etc/shadow mode %v", m)
	}
	if out, err := exec.Command("visudo", "-cf", filepath.Join(root, account.SudoersFile)).CombinedOutput(); err != nil {
		t.Errorf("visudo rejects the sudoers file: %v %s", err, out)
	}
	if m, _, _ := mode(t, filepath.Join(root, account.SudoersFile)); m.Perm() != 0o440 {
		t.Errorf("sudoers mode %v", m)
	}
	for _, g := range []string{"users", "sudo", "video"} {
		groups, _ := account.Groups(root)
		found := false
		for _, gr := range groups {
			if gr.Name == g {
				for _, m := range gr.Members {
					found = found || m == "user"
				}
			}
		}
		if !found {
			t.Errorf("user is not in group %s", g)
		}
	}

	// SSH keys: merged, deduplicated, validated, with the right modes.
	ak := read(t, filepath.Join(root, "root/.ssh/authorized_keys"))
	if len(lines(ak)) != 3 || !strings.Contains(ak, k1) || !strings.Contains(ak, k2) || !strings.Contains(ak, k3) {
		t.Errorf("root authorized_keys:\n%s", ak)
	}
	if m, uid, _ := mode(t, filepath.Join(root, "root/.ssh/authorized_keys")); m.Perm() != 0o600 || uid != 0 {
		t.Errorf("root authorized_keys mode %v uid %d", m, uid)
	}
	if m, _, _ := mode(t, filepath.Join(root, "root/.ssh")); m.Perm() != 0o700 {
		t.Errorf("root .ssh mode %v", m)
	}
	uak := filepath.Join(root, "home/user/.ssh/authorized_keys")
	if got := read(t, uak); len(lines(got)) != 3 {
		t.Errorf("user authorized_keys:\n%s", got)
	}
	if m, uid, gid := mode(t, uak); m.Perm() != 0o600 || uid != 1000 || gid != 1000 {
		t.Errorf("user authorized_keys mode %v owner %d:%d", m, uid, gid)
	}
	if !strings.Contains(first.logged, "SSH_PUBKEY line 2 is not an SSH public key") || strings.Contains(first.logged, "not a key at all") {
		t.Errorf("bad key not reported by source and line only:\n%s", first.logged)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/ssh/ssh_host_ed25519_key")); err != nil {
		t.Errorf("no host key: %v", err)
	}

	// Web credentials: hash and token hash only, root only.
	credPath := filepath.Join(root, webcreds.File)
	c, err := webcreds.Read(credPath)
	must(t, err)
	if c.User != "user" || bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte("correct horse battery")) != nil ||
		!c.TokenMatches("tok-0123456789abcdef") || c.TokenMatches("wrong") || c.Generated || !c.AuthEnabled {
		t.Errorf("credentials %+v", c)
	}
	if m, uid, _ := mode(t, credPath); m.Perm() != 0o600 || uid != 0 {
		t.Errorf("credentials mode %v uid %d", m, uid)
	}
	if m, _, _ := mode(t, filepath.Dir(credPath)); m.Perm() != 0o700 {
		t.Errorf("credentials folder mode %v", m)
	}

	// Secrets store, environment file.
	if got := read(t, filepath.Join(root, "run/gpudesk/secrets/HF_TOKEN")); got != "hf_secretvalue123" {
		t.Errorf("stored HF_TOKEN %q", got)
	}
	if m, _, _ := mode(t, filepath.Join(root, "run/gpudesk/secrets/HF_TOKEN")); m.Perm() != 0o600 {
		t.Errorf("secret mode %v", m)
	}
	envFile := read(t, filepath.Join(root, EnvironmentFile))
	if !strings.Contains(envFile, "export GREETING='hello world'\n") || !strings.Contains(envFile, "export AUTOSTART_SSHD='true'\n") {
		t.Errorf("environment file:\n%s", envFile)
	}
	if !strings.Contains(read(t, filepath.Join(root, "etc/bash.bashrc")), "/opt/ai-dock/etc/environment.sh") {
		t.Error("bash.bashrc does not source the environment file")
	}

	// Workspace, markers, time zone, status.
	if _, err := os.Stat(filepath.Join(root, "workspace/WARNING-NO-MOUNT.txt")); err != nil {
		t.Error("no warning file in a workspace that is not mounted")
	}
	if _, err := os.Stat(filepath.Join(root, ContainerConfig)); err != nil {
		t.Error("no /run/container_config marker")
	}
	if l, _ := os.Readlink(filepath.Join(root, "etc/localtime")); l != "/usr/share/zoneinfo/Europe/Paris" {
		t.Errorf("localtime -> %q", l)
	}
	st, err := bootstatus.Read(filepath.Join(root, bootstatus.File))
	must(t, err)
	if st.Phase != bootstatus.PhaseSupervisord || len(st.Steps) < 10 || len(st.Errors) != 0 {
		t.Errorf("status %+v", st)
	}

	// No secret in any file a non-root user or the logs can read.
	scanSecrets(t, root, []string{"correct horse battery", "tok-0123456789abcdef", "hf_secretvalue123", "user-pass-42", "cf-tunnel-secret"},
		first.logged+first.console)

	// The restart.
	before := snapshot(t, root, bootSkip...)
	second := runBoot(t, root, environ, args, "")
	if second.err != nil {
		t.Fatalf("second boot: %v\n%s", second.err, second.logged)
	}
	if d := diffSnapshots(before, snapshot(t, root, bootSkip...)); len(d) > 0 {
		t.Errorf("the second boot changed files:\n%s", strings.Join(d, "\n"))
	}
	if strings.Join(first.plan.Environ, "\n") != strings.Join(second.plan.Environ, "\n") {
		t.Error("the second boot gives supervisord another environment")
	}
}

// scanSecrets fails if a secret is in any file under root that is not
// root-only (the secret store and the credentials file are), in var/log,
// or in the extra text given (the boot's own output).
func scanSecrets(t *testing.T, root string, secrets []string, extra string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(extra, s) {
			t.Errorf("the boot printed the secret %q", s)
		}
	}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, "run/gpudesk/secrets/") {
			return nil // the store itself: root only, checked above
		}
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret %q", rel, s)
			}
		}
		return nil
	})
}

func TestBoot_GeneratedPasswordShownOnceNeverLogged(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	first := runBoot(t, root, baseEnv(), nil, "")
	if first.err != nil {
		t.Fatal(first.err)
	}
	var pw string
	for _, l := range lines(first.console) {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "password" {
			pw = f[1]
		}
	}
	if len(pw) < 12 {
		t.Fatalf("no generated password on the console:\n%s", first.console)
	}
	if !strings.Contains(first.console, "http://localhost:1111/") {
		t.Errorf("no login URL:\n%s", first.console)
	}
	c, err := webcreds.Read(filepath.Join(root, webcreds.File))
	must(t, err)
	if !c.Generated || bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte(pw)) != nil {
		t.Errorf("credentials %+v do not hold the shown password", c)
	}
	scanSecrets(t, root, []string{pw}, first.logged)
	second := runBoot(t, root, baseEnv(), nil, "")
	if second.err != nil || strings.Contains(second.console, "password") {
		t.Errorf("restart: %v, console:\n%s", second.err, second.console)
	}
	if c2, _ := webcreds.Read(filepath.Join(root, webcreds.File)); c2 != c {
		t.Errorf("restart changed the credentials: %+v", c2)
	}
}

func TestBoot_MountedWorkspaceKeepsOwnerACLAndHostKeys(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	ws := filepath.Join(root, "workspace")
	mountFS(t, "ext4", ws)
	must(t, os.Chown(ws, 1234, 1235))
	environ := append(baseEnv(), "SSH_PUBKEY="+pubKey(t, "k"))
	r := runBoot(t, root, environ, nil, "")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.logged)
	}
	e := envOf(r.plan)
	if e["WORKSPACE_MOUNTED"] != "true" || e["WORKSPACE_UID"] != "1234" || e["WORKSPACE_GID"] != "1235" || e["WORKSPACE_PERMISSIONS"] != "true" {
		t.Errorf("workspace env %v", e)
	}
	u, _, _ := account.LookupUser(root, "user")
	if u.UID != 1234 || u.GID != 1235 {
		t.Errorf("user %+v: not the volume's owner", u)
	}
	if l, _ := os.Readlink(filepath.Join(root, "home/user")); l != "/workspace/home/user" {
		t.Errorf("/home/user -> %q", l)
	}
	if _, uid, _ := mode(t, filepath.Join(ws, "home/user/.ssh/authorized_keys")); uid != 1234 {
		t.Errorf("user's keys on the volume owned by %d", uid)
	}
	if _, err := os.Stat(filepath.Join(ws, "WARNING-NO-MOUNT.txt")); err == nil {
		t.Error("warning file on a mounted workspace")
	}
	out, err := exec.Command("getfacl", "-p", ws).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "default:user:1234:rwx") {
		t.Errorf("default ACL: %v\n%s", err, out)
	}
	hostKey := read(t, filepath.Join(root, "etc/ssh/ssh_host_ed25519_key.pub"))
	if kept := read(t, filepath.Join(ws, ".gpudesk/ssh-host-keys/ssh_host_ed25519_key.pub")); kept != hostKey {
		t.Error("host key not kept on the volume")
	}
	if m, uid, _ := mode(t, filepath.Join(ws, ".gpudesk/ssh-host-keys")); m.Perm() != 0o700 || uid != 0 {
		t.Errorf("kept host keys folder %v uid %d", m, uid)
	}

	// A restart of the same container changes nothing on the volume either.
	before := snapshot(t, root, bootSkip...)
	if again := runBoot(t, root, environ, nil, ""); again.err != nil {
		t.Fatal(again.err)
	}
	if d := diffSnapshots(before, snapshot(t, root, bootSkip...)); len(d) > 0 {
		t.Errorf("the second boot changed files:\n%s", strings.Join(d, "\n"))
	}

	// A new container (a fresh root) on the same volume keeps the fingerprint.
	root2 := newRoot(t)
	ws2 := filepath.Join(root2, "workspace")
	must(t, os.MkdirAll(ws2, 0o755))
	if out, err := exec.Command("mount", "--bind", ws, ws2).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ws2).Run() })
	r2 := runBoot(t, root2, baseEnv(), nil, "")
	if r2.err != nil {
		t.Fatal(r2.err)
	}
	if got := read(t, filepath.Join(root2, "etc/ssh/ssh_host_ed25519_key.pub")); got != hostKey {
		t.Error("a new container on the same volume got another host key")
	}
	if !strings.Contains(read(t, filepath.Join(root2, "root/.ssh/authorized_keys")), "") || envOf(r2.plan)["AUTOSTART_SSHD"] != "false" {
		t.Errorf("no keys given: sshd should not autostart (%s)", envOf(r2.plan)["AUTOSTART_SSHD"])
	}
}

func TestBoot_NoACLSupportIsAWarning(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	mountFS(t, "ramfs", filepath.Join(root, "workspace"))
	r := runBoot(t, root, baseEnv(), nil, "")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.logged)
	}
	st, _ := bootstatus.Read(filepath.Join(root, bootstatus.File))
	found := false
	for _, s := range st.Steps {
		if s.Name == "acl" {
			found = s.Error == "" && len(s.Warnings) == 1 && strings.Contains(s.Warnings[0], "not supported")
		}
	}
	if !found || len(st.Errors) != 0 {
		t.Errorf("status %+v", st)
	}
	// SKIP_ACL=true does skip it (ai-dock's did not).
	r = runBoot(t, root, append(baseEnv(), "SKIP_ACL=true"), nil, "")
	if r.err != nil || !strings.Contains(r.logged, "SKIP_ACL=true: no default ACL") {
		t.Errorf("%v\n%s", r.err, r.logged)
	}
}

func TestBoot_BadValuesAreOneLineEachAndTheBootGoesOn(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	secret := "s3cr3t-value-never-logged"
	r := runBoot(t, root, append(baseEnv(),
		"WEB_PASSWORD_HASH="+secret,
		"SSH_PUBKEY=ssh-ed25519 "+secret,
		"XPU_TARGET=TPU",
		"FOO_PORT_HOST=abc",
		"BAR_PORT_HOST=70001",
		"WEB_TOKEN_FILE=/nonexistent/token",
		"USER_NAME=Bad Name",
		"WEB_ENABLE_AUTH=maybe",
		"TZ=Mars/Olympus",
		"WORKSPACE_MOUNTED=sometimes",
	), nil, "")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.logged)
	}
	for _, want := range []string{
		"WEB_PASSWORD_HASH is not a bcrypt hash",
		"SSH_PUBKEY line 1 is not an SSH public key",
		"XPU_TARGET is not NVIDIA_GPU, AMD_GPU or CPU",
		"FOO_PORT_HOST is not a port number",
		"BAR_PORT_HOST asks for an assigned port (70001)",
		"WEB_TOKEN_FILE: cannot read /nonexistent/token",
		"USER_NAME is not a user name",
		"WEB_ENABLE_AUTH is not true or false",
		"TZ is not a time zone",
		"WORKSPACE_MOUNTED is not force, false or auto",
	} {
		if !strings.Contains(r.logged, want) {
			t.Errorf("no warning %q in:\n%s", want, r.logged)
		}
	}
	if strings.Contains(r.logged, secret) || strings.Contains(r.console, secret) {
		t.Error("a bad value was printed")
	}
	if envOf(r.plan)["USER_NAME"] != "user" {
		t.Error("bad USER_NAME not replaced by user")
	}
	c, _ := webcreds.Read(filepath.Join(root, webcreds.File))
	if !c.Generated {
		t.Error("a bad WEB_PASSWORD_HASH should leave a generated password")
	}
}

func TestBoot_FatalOnlyForWorkspaceOrSupervisord(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	r := runBoot(t, root, append(baseEnv(), "WORKSPACE=relative/path"), nil, "")
	if !errors.Is(r.err, ErrFatal) || !strings.Contains(r.err.Error(), `WORKSPACE "relative/path"`) {
		t.Errorf("relative WORKSPACE: %v", r.err)
	}
	st, _ := bootstatus.Read(filepath.Join(root, bootstatus.File))
	if st.Phase != bootstatus.PhaseFailed {
		t.Errorf("status phase %q", st.Phase)
	}
	_, err := Boot(t.Context(), BootOptions{Root: root, Environ: baseEnv(), Supervisord: filepath.Join(root, "no/such/supervisord")})
	if !errors.Is(err, ErrFatal) || !strings.Contains(err.Error(), "cannot start supervisord") {
		t.Errorf("missing supervisord: %v", err)
	}
}

func TestBoot_VastOpenButton(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	write(t, filepath.Join(root, "etc/instance.crt"), "CERT")
	write(t, filepath.Join(root, "etc/instance.key"), "KEY")
	r := runBoot(t, root, append(baseEnv(), "OPEN_BUTTON_TOKEN=vast-open-token-1", "VAST_CONTAINERLABEL=C.123", "WEB_PASSWORD=password"), nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	c, _ := webcreds.Read(filepath.Join(root, webcreds.File))
	if c.User != "vastai" || !c.TokenMatches("vast-open-token-1") || bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte("vast-open-token-1")) != nil {
		t.Errorf("credentials %+v", c)
	}
	for _, ext := range []string{"crt", "key"} {
		if l, _ := os.Readlink(filepath.Join(root, "opt/caddy/tls/container."+ext)); l != "/etc/instance."+ext {
			t.Errorf("container.%s -> %q", ext, l)
		}
	}
	if _, ok := envOf(r.plan)["OPEN_BUTTON_TOKEN"]; ok {
		t.Error("OPEN_BUTTON_TOKEN reaches supervisord")
	}
}

func TestBoot_SecretFromFileAndServerless(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	write(t, filepath.Join(root, "pw"), "from-a-file\n")
	r := runBoot(t, root, append(baseEnv(), "WEB_PASSWORD_FILE="+filepath.Join(root, "pw"), "SERVERLESS=true", "SUPERVISOR_NO_AUTOSTART=storagemonitor,nosuch"), nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	c, _ := webcreds.Read(filepath.Join(root, webcreds.File))
	if bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte("from-a-file")) != nil {
		t.Error("WEB_PASSWORD_FILE not used (final newline dropped)")
	}
	e := envOf(r.plan)
	for k, want := range map[string]string{"AUTOSTART_CADDY": "false", "AUTOSTART_PORTAL": "false", "AUTOSTART_SSHD": "false",
		"AUTOSTART_X_SERVER": "false", "AUTOSTART_PROVISIONER": "true", "AUTOSTART_STORAGEMONITOR": "false", "AUTOSTART_NOSUCH": "false", "AUTOSTART_LOGTAIL": "true"} {
		if e[k] != want {
			t.Errorf("%s = %q, want %q", k, e[k], want)
		}
	}
	if !strings.Contains(r.logged, "SUPERVISOR_NO_AUTOSTART names nosuch, but no conf.d file reads %(ENV_AUTOSTART_NOSUCH)s") {
		t.Errorf("no warning for a name no file uses:\n%s", r.logged)
	}
}

func TestBoot_UserJoinsTheGroupsOfGPUDeviceNodes(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	node := filepath.Join(root, "dev/dri/renderD128")
	write(t, node, "")
	must(t, os.Chown(node, 0, 4242))
	r := runBoot(t, root, append(baseEnv(), "USER_GROUPS=users,nosuchgroup"), nil, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	groups, _ := account.Groups(root)
	var found *account.Group
	for i, g := range groups {
		if g.GID == 4242 {
			found = &groups[i]
		}
	}
	if found == nil || !strings.HasPrefix(found.Name, "render") || len(found.Members) != 1 || found.Members[0] != "user" {
		t.Errorf("group of the render node: %+v", found)
	}
	if !strings.Contains(r.logged, "USER_GROUPS: group nosuchgroup does not exist in this image; skipped") {
		t.Errorf("a group the user named and the image lacks is not reported:\n%s", r.logged)
	}
}

func TestBoot_UserSudoFalseTakesSudoAway(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	if r := runBoot(t, root, baseEnv(), nil, ""); r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := os.Stat(filepath.Join(root, account.SudoersFile)); err != nil {
		t.Fatalf("no sudo rule by default (ai-dock's passwordless sudo): %v", err)
	}
	if r := runBoot(t, root, append(baseEnv(), "USER_SUDO=false"), nil, ""); r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := os.Stat(filepath.Join(root, account.SudoersFile)); !os.IsNotExist(err) {
		t.Errorf("USER_SUDO=false left the sudo rule: %v", err)
	}
}

// A mounted volume that keeps no owners (vfat, network storage): the home folder
// and the SSH host keys stay in the container, where sshd's StrictModes
// accepts them, and one warning says why.
func TestBoot_VolumeWithoutOwnersKeepsHomeAndHostKeysInTheContainer(t *testing.T) {
	needRoot(t)
	root := newRoot(t)
	ws := filepath.Join(root, "workspace")
	mountFS(t, "noowners", ws)
	r := runBoot(t, root, append(baseEnv(), "SSH_PUBKEY="+pubKey(t, "k")), nil, "")
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.logged)
	}
	e := envOf(r.plan)
	if e["WORKSPACE_MOUNTED"] != "true" || e["WORKSPACE_PERMISSIONS"] != "false" {
		t.Fatalf("workspace env %v", e)
	}
	if fi, err := os.Lstat(filepath.Join(root, "home/user")); err != nil || !fi.IsDir() {
		t.Errorf("/home/user is not a folder of the container: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "home/user")); err == nil {
		t.Error("a home folder was made on the volume")
	}
	if _, err := os.Stat(filepath.Join(ws, ".gpudesk/ssh-host-keys")); err == nil {
		t.Error("host keys were put on the volume")
	}
	if _, uid, _ := mode(t, filepath.Join(root, "home/user/.ssh/authorized_keys")); uid == 0 {
		t.Error("the user's keys are root's")
	}
	if !strings.Contains(r.logged, "does not keep file owners: the home folder and the SSH host keys stay in the container") {
		t.Errorf("no warning:\n%s", r.logged)
	}
}

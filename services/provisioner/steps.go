package provisioner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gpudesk/runtime/services/gpuprobe"
	"github.com/gpudesk/runtime/services/provisioner/account"
	"github.com/gpudesk/runtime/services/provisioner/autostart"
	"github.com/gpudesk/runtime/services/provisioner/env"
	"github.com/gpudesk/runtime/services/provisioner/secrets"
	"github.com/gpudesk/runtime/services/provisioner/shellenv"
	"github.com/gpudesk/runtime/services/provisioner/sshkeys"
	"github.com/gpudesk/runtime/services/provisioner/webcreds"
	"github.com/gpudesk/runtime/services/provisioner/workspace"
)

var lookPath = exec.LookPath

// stepEnvironment builds the environment and fills in the defaults.
func (b *boot) stepEnvironment(context.Context) ([]string, error) {
	e, warn := env.Normalize(env.Input{Environ: b.o.Environ, Args: b.o.Args})
	e.Default("WORKSPACE", DefaultWorkspace)
	if ws := e.Get("WORKSPACE"); ws != "/" {
		e.Set("WORKSPACE", filepath.Clean(ws)) // ai-dock wrote it with a final /; paths are joined with one here
	}
	e.Default("USER_NAME", "user")
	if !validUser.MatchString(e.Get("USER_NAME")) {
		warn = append(warn, "USER_NAME is not a user name (lower-case letters, digits, _ and -, up to 32, not starting with a digit or -); using user")
		e.Set("USER_NAME", "user")
	}
	if e.Get("USER_NAME") == "root" {
		warn = append(warn, "USER_NAME cannot be root (the desktop and the apps run unprivileged); using user")
		e.Set("USER_NAME", "user")
	}
	b.groupsGiven = e.Get("USER_GROUPS") != ""
	e.Default("USER_GROUPS", account.DefaultGroups)
	e.Default("WEB_USER", "user")
	e.Default("PROVISIONING_USER", e.Get("USER_NAME"))
	for _, name := range []string{"WEB_ENABLE_AUTH", "WEB_ENABLE_HTTPS", "USER_SUDO", "SKIP_ACL", "CF_QUICK_TUNNELS", "DEBUG", "WORKSPACE_SYNC"} {
		if _, ok := e.Bool(name, false); !ok {
			warn = append(warn, name+" is not true or false; taken as its default")
		}
	}
	warn = append(warn, sshPort(e)...)
	mask, w := umask(e)
	b.umask = mask
	warn = append(warn, w...)
	b.e = e
	return warn, nil
}

// stepDirectories makes the folders, log files and markers other
// programs expect.
func (b *boot) stepDirectories(context.Context) ([]string, error) {
	var errs []error
	gid := 0
	if groups, err := account.Groups(b.o.Root); err == nil {
		for _, g := range groups {
			if g.Name == "ai-dock" {
				gid = g.GID
			}
		}
	}
	hp := b.path(HTTPPorts)
	if err := os.MkdirAll(hp, 0o770); err != nil {
		errs = append(errs, err)
	} else {
		os.Chown(hp, 0, gid)
		os.Chmod(hp, 0o2770)
	}
	for _, d := range []string{"var/log/supervisor", "run/boot", "opt/caddy/etc"} {
		if err := os.MkdirAll(b.path(d), 0o755); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range logFiles {
		f, err := os.OpenFile(b.path("var/log/"+l+".log"), os.O_WRONLY|os.O_CREATE, 0o640)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Close()
	}
	for _, m := range []string{ContainerConfig, WorkspaceSync} {
		if err := os.WriteFile(b.path(m), nil, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return nil, errors.Join(errs...)
}

func (b *boot) stepWorkspace(context.Context) ([]string, error) {
	var warn []string
	mounted := strings.ToLower(b.e.Get("WORKSPACE_MOUNTED"))
	switch mounted {
	case "", "force", "true", "false", "auto":
	default:
		warn = append(warn, "WORKSPACE_MOUNTED is not force, false or auto; detecting the mount")
		mounted = ""
	}
	info, err := workspace.Prepare(workspace.Options{Root: b.o.Root, Path: b.e.Get("WORKSPACE"), Mounted: mounted, MountInfo: b.o.MountInfo})
	if err != nil {
		return warn, err
	}
	b.ws = wsFacts{path: info.Path, mounted: info.Mounted, perms: info.Permissions, uid: info.UID, gid: info.GID}
	switch {
	case info.Mounted && info.Permissions:
		b.ws.homeTarget = filepath.Join(info.Path, "home", b.e.Get("USER_NAME"))
	case info.Mounted:
		// A volume that ignores owners and modes (vfat, some network file
		// systems) cannot hold a home or host keys sshd accepts (its
		// StrictModes refuses group/world-writable homes and keys), so
		// they stay in the container; ai-dock turned StrictModes off
		// instead, for everyone.
		warn = append(warn, fmt.Sprintf("WORKSPACE %s does not keep file owners: the home folder and the SSH host keys stay in the container (sshd refuses keys in files it cannot trust)", info.Path))
	default:
		warn = append(warn, fmt.Sprintf("WORKSPACE %s is not a mounted volume: its files are lost with the container (%s says so)", info.Path, workspace.WarningFile))
	}
	b.e.Set("WORKSPACE_UID", strconv.Itoa(info.UID))
	b.e.Set("WORKSPACE_GID", strconv.Itoa(info.GID))
	b.e.Set("WORKSPACE_MOUNTED", strconv.FormatBool(info.Mounted))
	b.e.Set("WORKSPACE_PERMISSIONS", strconv.FormatBool(info.Permissions))
	if _, err := os.Stat(filepath.Join(b.path(info.Path), ".update_lock")); err == nil {
		b.e.Set("AUTO_UPDATE", "false")
	}
	return warn, nil
}

// deviceNodes are the GPU nodes whose groups the user joins.
func (b *boot) deviceNodes() []string {
	var out []string
	for _, g := range []string{"dev/dri/*", "dev/kfd", "dev/nvidia[0-9]*", "dev/nvidiactl"} {
		m, _ := filepath.Glob(b.path(g))
		for _, p := range m {
			rel, _ := filepath.Rel(b.o.Root, p)
			out = append(out, rel)
		}
	}
	return out
}

func (b *boot) stepUser(ctx context.Context) ([]string, error) {
	sudo, _ := b.e.Bool("USER_SUDO", true)
	name := b.e.Get("USER_NAME")
	notes, err := account.Ensure(ctx, account.Spec{
		Root: b.o.Root, Name: name, UID: b.ws.uid, GID: b.ws.gid,
		Home: "/home/" + name, HomeTarget: b.ws.homeTarget,
		Groups:      strings.Split(b.e.Get("USER_GROUPS"), ","),
		DeviceNodes: b.deviceNodes(),
		Password:    b.e.Get("USER_PASSWORD"),
		Sudo:        sudo,
	})
	if !b.groupsGiven {
		notes = dropGroupNotes(notes) // the default list names groups only some images have
	}
	b.e.Set("USER_UID", strconv.Itoa(b.ws.uid))
	b.e.Set("USER_GID", strconv.Itoa(b.ws.gid))
	b.e.Set("USER_HOME", "/home/"+name)
	return notes, err
}

func dropGroupNotes(notes []string) []string {
	var out []string
	for _, n := range notes {
		if !strings.HasPrefix(n, "USER_GROUPS: group ") {
			out = append(out, n)
		}
	}
	return out
}

// homeDir is where the user's files really are.
func (b *boot) homeDir() string {
	if b.ws.homeTarget != "" {
		return b.path(b.ws.homeTarget)
	}
	return b.path("/home/" + b.e.Get("USER_NAME"))
}

func (b *boot) stepACL(ctx context.Context) ([]string, error) {
	if skip, _ := b.e.Bool("SKIP_ACL", false); skip {
		return []string{"SKIP_ACL=true: no default ACL set on the workspace"}, nil
	}
	ws := b.path(b.ws.path)
	err := workspace.DefaultACL(ctx, b.ws.uid, ws, filepath.Join(ws, "storage"))
	if errors.Is(err, workspace.ErrNoACL) {
		return []string{err.Error() + "; new files in the workspace keep their creator's permissions"}, nil
	}
	return nil, err
}

func (b *boot) stepSSH(context.Context) ([]string, error) {
	var warn []string
	var sources []sshkeys.Source
	if mounted, err := os.ReadFile(b.path("root/.ssh/authorized_keys_mount")); err == nil {
		sources = append(sources, sshkeys.Source{Name: "/root/.ssh/authorized_keys_mount", Text: string(mounted)})
	}
	for _, name := range []string{"SSH_PUBKEY", "PUBLIC_KEY", "SSH_PUBLIC_KEY"} {
		if v := b.e.Get(name); v != "" {
			sources = append(sources, sshkeys.Source{Name: name, Text: v})
		}
	}
	n, w, err := sshkeys.Install(b.path("root/.ssh/authorized_keys"), 0, 0, sources)
	warn = append(warn, w...)
	if err != nil {
		return warn, err
	}
	b.keys = n
	// The user gets root's keys (ai-dock copied them), merged into its own.
	rootKeys, _ := os.ReadFile(b.path("root/.ssh/authorized_keys"))
	if _, _, err := sshkeys.Install(filepath.Join(b.homeDir(), ".ssh/authorized_keys"), b.ws.uid, b.ws.gid,
		[]sshkeys.Source{{Name: "/root/.ssh/authorized_keys", Text: string(rootKeys)}}); err != nil {
		return warn, err
	}
	keep := ""
	if b.ws.mounted && b.ws.perms {
		keep = filepath.Join(b.path(b.ws.path), ".gpudesk/ssh-host-keys")
	}
	if _, err := sshkeys.HostKeys(b.path("etc/ssh"), keep); err != nil {
		return warn, err
	}
	if n == 0 {
		warn = append(warn, "no SSH public key (SSH_PUBKEY, PUBLIC_KEY, SSH_PUBLIC_KEY or /root/.ssh/authorized_keys_mount): sshd does not start")
	}
	return warn, nil
}

func (b *boot) stepWeb(context.Context) ([]string, error) {
	var warn []string
	auth, _ := b.e.Bool("WEB_ENABLE_AUTH", true)
	if !auth {
		warn = append(warn, "WEB_ENABLE_AUTH=false: web services are open to anyone who reaches them")
	}
	res, err := webcreds.Ensure(b.path(webcreds.File), webcreds.Input{
		User: b.e.Get("WEB_USER"), Password: b.e.Get("WEB_PASSWORD"), PasswordHash: b.e.Get("WEB_PASSWORD_HASH"),
		Token: b.e.Get("WEB_TOKEN"), AuthEnabled: auth,
	})
	warn = append(warn, res.Warnings...)
	if err != nil {
		return warn, err
	}
	if res.Password != "" || res.Token != "" {
		b.showOnce(res)
	}
	if env.OnVast(b.e) {
		warn = append(warn, b.vastTLS()...)
	}
	return warn, nil
}

// showOnce prints generated credentials on the console only: not in
// config.log, not in any file.
func (b *boot) showOnce(res webcreds.Result) {
	c := b.o.Console
	fmt.Fprintf(c, "\n==> Web login: %s  user %s\n", b.loginURL(), res.Creds.User)
	if res.Password != "" {
		fmt.Fprintf(c, "    password %s (generated; shown once, stored only as a bcrypt hash)\n", res.Password)
	}
	if res.Token != "" {
		fmt.Fprintf(c, "    API token %s (generated; shown once; Authorization: Bearer)\n", res.Token)
	}
	fmt.Fprintf(c, "    Set WEB_PASSWORD / WEB_TOKEN to choose your own.\n\n")
}

func (b *boot) loginURL() string {
	scheme := "http"
	if h, _ := b.e.Bool("WEB_ENABLE_HTTPS", false); h {
		scheme = "https"
	}
	if id := b.e.Get("RUNPOD_POD_ID"); id != "" {
		return "https://" + id + "-1111.proxy.runpod.net/"
	}
	host := b.e.Get("DIRECT_ADDRESS")
	if host == "" {
		host = "localhost"
	}
	port := "1111"
	if p := b.e.Get("VAST_TCP_PORT_1111"); p != "" {
		port = p
	}
	return scheme + "://" + host + ":" + port + "/"
}

// vastTLS makes Vast's instance certificate the web TLS pair.
func (b *boot) vastTLS() []string {
	var warn []string
	for _, ext := range []string{"crt", "key"} {
		src := "/etc/instance." + ext
		if _, err := os.Stat(b.path(src)); err != nil {
			continue
		}
		dst := b.path("opt/caddy/tls/container." + ext)
		if cur, err := os.Readlink(dst); err == nil && cur == src {
			continue
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		os.Remove(dst)
		if err := os.Symlink(src, dst); err != nil {
			warn = append(warn, fmt.Sprintf("linking %s to %s: %v", dst, src, err))
		}
	}
	return warn
}

func (b *boot) stepGPUs(ctx context.Context) ([]string, error) {
	var warn []string
	r, err := gpuprobe.Probe(ctx, gpuprobe.Options{Root: b.o.Root, LookupEnv: b.e.Lookup})
	if err != nil {
		return nil, err
	}
	warn = append(warn, r.Warnings...)
	target := string(r.XPUTarget)
	switch v := b.e.Get("XPU_TARGET"); v {
	case "":
	case string(gpuprobe.TargetNVIDIA), string(gpuprobe.TargetAMD), string(gpuprobe.TargetCPU):
		target = v // the image or the user chose
	default:
		warn = append(warn, fmt.Sprintf("XPU_TARGET is not NVIDIA_GPU, AMD_GPU or CPU; using %s (found)", target))
	}
	b.e.Set("XPU_TARGET", target)
	b.e.Set("GPU_COUNT", strconv.Itoa(r.GPUCount))
	b.e.Set("GPU_VENDOR", string(r.GPUVendor))
	for name, v := range r.Visible {
		b.e.Set(name, v.Value)
	}
	return warn, nil
}

// stepSecrets moves every secret out of the environment supervisord and
// its children get, into the root-only store.
func (b *boot) stepSecrets(context.Context) ([]string, error) {
	public, secret := b.e.Split()
	b.e, b.secret = public, secret
	// logtail redacts the values of the variables LOGTAIL_REDACT names,
	// read from its own environment: it gets them with exec-with-secret.
	names := secret.Names()
	if user := public.Get("LOGTAIL_REDACT"); user != "" {
		names = append([]string{user}, names...)
	}
	public.Set("LOGTAIL_REDACT", strings.Join(names, ","))
	_, err := secrets.Store{Dir: b.path(secrets.Dir)}.Sync(secret)
	return nil, err
}

func (b *boot) stepAutostart(context.Context) ([]string, error) {
	dir := b.o.ConfDir
	if dir == "" {
		if b.o.Conf != "" {
			dir = filepath.Join(filepath.Dir(b.o.Conf), "supervisord/conf.d")
		} else {
			dir = b.path(DefaultConfDir)
		}
	}
	used, err := autostart.Used(dir)
	if err != nil {
		return nil, err
	}
	// The tunnel token is a secret, gone from b.e by now: ask the store.
	probe := b.e.Clone()
	if b.secret != nil && b.secret.Get("CF_TUNNEL_TOKEN") != "" {
		probe.Set("CF_TUNNEL_TOKEN", "set")
	}
	vars, warn := autostart.Decide(used, probe, autostart.Facts{SSHKeys: b.keys})
	var off []string
	for k, v := range vars {
		b.e.Set(k, v)
		if v == "false" {
			off = append(off, k)
		}
	}
	sort.Strings(off)
	if len(off) > 0 {
		b.logln("boot: autostart off: " + strings.Join(off, ", "))
	}
	return warn, nil
}

func (b *boot) stepEnvironmentFile(context.Context) ([]string, error) {
	if _, err := shellenv.Write(b.path(EnvironmentFile), b.e); err != nil {
		return nil, err
	}
	// Interactive non-login bash reads bash.bashrc, not profile.d.
	rc := b.path("etc/bash.bashrc")
	line := "[ -r /" + EnvironmentFile + " ] && . /" + EnvironmentFile + " # gpudesk\n"
	if cur, err := os.ReadFile(rc); err == nil && !strings.Contains(string(cur), line) {
		f, err := os.OpenFile(rc, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, fmt.Errorf("adding the environment file to %s: %w", rc, err)
		}
		defer f.Close()
		if _, err := f.WriteString(line); err != nil {
			return nil, fmt.Errorf("adding the environment file to %s: %w", rc, err)
		}
	}
	return nil, nil
}

func (b *boot) stepTimezone(context.Context) ([]string, error) {
	tz := b.e.Get("TZ")
	if tz == "" {
		return nil, nil
	}
	zone := filepath.Join("/usr/share/zoneinfo", filepath.Clean("/"+tz))
	if st, err := os.Stat(b.path(zone)); err != nil || st.IsDir() || strings.Contains(tz, "..") {
		return []string{"TZ is not a time zone of /usr/share/zoneinfo (such as Europe/Paris or UTC); left unset"}, nil
	}
	lt := b.path("etc/localtime")
	if cur, err := os.Readlink(lt); err != nil || cur != zone {
		os.Remove(lt)
		if err := os.Symlink(zone, lt); err != nil {
			return nil, fmt.Errorf("linking %s: %w", lt, err)
		}
	}
	tzf := b.path("etc/timezone")
	if cur, err := os.ReadFile(tzf); err != nil || string(cur) != tz+"\n" {
		if err := os.WriteFile(tzf, []byte(tz+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", tzf, err)
		}
	}
	return nil, nil
}

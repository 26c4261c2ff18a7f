package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gpudesk/runtime/services/portal"
	"github.com/gpudesk/runtime/services/portal/caddy"
	"github.com/gpudesk/runtime/services/provisioner/env"
	"github.com/gpudesk/runtime/supervisor/config"
)

// repo is the repository's root, from this folder.
const repo = "../../.."

// TestSources_decodeStrictly: every file here decodes into its API type
// with no unknown field (a typo such as "failureTreshold" fails).
func TestSources_decodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*/*.yaml")
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch filepath.Base(f) {
		case "kustomization.yaml":
			v = &types.Kustomization{}
		case "statefulset.yaml":
			v = &appsv1.StatefulSet{}
		case "service.yaml":
			v = &corev1.Service{}
		default:
			t.Errorf("%s: no API type known for this file", f)
			continue
		}
		if err := DecodeStrict(data, v); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// variant is one way to deploy: an overlay, with components added.
type variant struct {
	name       string
	overlay    string
	components []string
	tag        string
	gpu        corev1.ResourceName // "" for none
}

var variants = []variant{
	{name: "cpu", overlay: "overlays/cpu", tag: "latest-cpu"},
	{name: "nvidia", overlay: "overlays/nvidia", tag: "latest-cuda", gpu: "nvidia.com/gpu"},
	{name: "amd", overlay: "overlays/amd", tag: "latest-rocm", gpu: "amd.com/gpu"},
	{name: "nvidia+fuse+ssh", overlay: "overlays/nvidia", components: []string{"components/fuse", "components/ssh"}, tag: "latest-cuda", gpu: "nvidia.com/gpu"},
	{name: "cpu+fuse", overlay: "overlays/cpu", components: []string{"components/fuse"}, tag: "latest-cpu"},
	{name: "amd+ssh", overlay: "overlays/amd", components: []string{"components/ssh"}, tag: "latest-rocm", gpu: "amd.com/gpu"},
}

// build builds v as a user's own kustomization would: one next to the
// overlays that names the overlay and the components (written into an
// in-memory copy of this folder, as Kustomize refuses absolute roots).
func build(t *testing.T, v variant) *Desktop {
	t.Helper()
	if len(v.components) == 0 {
		d, err := Build(v.overlay)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fs := filesys.MakeFsInMemory()
	err := filepath.WalkDir(".", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fs.WriteFile(filepath.Join("/k", path), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	k := types.Kustomization{Resources: []string{"../" + v.overlay}}
	k.APIVersion, k.Kind = types.KustomizationVersion, types.KustomizationKind
	for _, c := range v.components {
		k.Components = append(k.Components, "../"+c)
	}
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("/k/mine/kustomization.yaml", data); err != nil {
		t.Fatal(err)
	}
	d, err := BuildFS(fs, "/k/mine")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func TestOverlays(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			d := build(t, v)
			c, err := d.Container()
			if err != nil {
				t.Fatal(err)
			}
			if want := "gpudesk/desktop:" + v.tag; c.Image != want {
				t.Errorf("image %s, want %s", c.Image, want)
			}
			checkGPU(t, v, c)
			checkProbes(t, d, c)
			checkService(t, d, c)
			checkGrace(t, d, c)
			checkSecrets(t, d, c)
			checkPrivileges(t, v, d, c)
			if n := *d.StatefulSet.Spec.Replicas; n != 1 {
				t.Errorf("replicas %d: one desktop per StatefulSet (its workspace is ReadWriteOnce)", n)
			}
			claims := d.StatefulSet.Spec.VolumeClaimTemplates
			if len(claims) != 1 || !mounted(c, claims[0].Name, "/workspace") {
				t.Errorf("the workspace must be a claim template mounted at /workspace; claims %v", claims)
			}
		})
	}
}

func mounted(c *corev1.Container, volume, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}

func checkGPU(t *testing.T, v variant, c *corev1.Container) {
	t.Helper()
	for _, name := range []corev1.ResourceName{"nvidia.com/gpu", "amd.com/gpu"} {
		q, ok := c.Resources.Limits[name]
		switch {
		case name == v.gpu && (!ok || !q.Equal(resource.MustParse("1"))):
			t.Errorf("limits %s = %v, want 1", name, c.Resources.Limits)
		case name != v.gpu && ok:
			t.Errorf("limits has %s in a variant without that GPU", name)
		}
	}
}

// containerPort resolves a probe's or Service's port (a name or a
// number) to the container's port number.
func containerPort(t *testing.T, c *corev1.Container, port string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
			return p.ContainerPort
		}
	}
	t.Errorf("port %q is not one of the container's ports %v", port, c.Ports)
	return 0
}

// portalRoutes are the portal's routes that answer without a login, read
// from its mux registrations ("GET /healthz" handled directly, not through
// s.authed).
func portalRoutes(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repo, "services/portal/web/server.go"))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	re := regexp.MustCompile(`mux\.HandleFunc\("GET (/[^"]*)", s\.[a-zA-Z]+\)`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		open[m[1]] = true
	}
	return open
}

// portalServesPublicly checks that, with the container's environment,
// the portal is published by Caddy on port and that Caddy hands every
// path of that port to the portal without its own forward_auth (the
// portal answers /healthz and /readyz itself, without a login).
func portalServesPublicly(t *testing.T, c *corev1.Container, port int32) {
	t.Helper()
	lookup := func(k string) (string, bool) { return envValue(c, k) }
	cfg, err := portal.ParseArgs(nil, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if int32(cfg.PublicPort) != port {
		t.Errorf("the portal is published on %d with this environment, the probes ask %d", cfg.PublicPort, port)
	}
	if !strings.HasPrefix(cfg.Listen, "127.0.0.1:") {
		t.Errorf("the portal listens on %s: the probes must go through Caddy", cfg.Listen)
	}
	_, up, _ := strings.Cut(cfg.Listen, ":")
	upstream, _ := strconv.Atoi(up)
	raw, err := caddy.Build(caddy.Options{AdminSocket: "/run/gpudesk/caddy-admin.sock", PortalAddr: cfg.Listen,
		Sites: []caddy.Site{{PublicPort: cfg.PublicPort, Upstream: upstream, Portal: true}}})
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if !strings.Contains(text, fmt.Sprintf(`":%d"`, port)) || !strings.Contains(text, cfg.Listen) {
		t.Errorf("Caddy's configuration does not serve :%d from %s: %s", port, cfg.Listen, text)
	}
	if strings.Contains(text, "/.gpudesk/auth") {
		t.Errorf("Caddy asks forward_auth on the portal's own port: the kubelet has no login: %s", text)
	}
	// Before the portal loads its routes, Caddy's base configuration
	// answers 503 on the same port: a probe fails until the portal is up.
	base, err := os.ReadFile(filepath.Join(repo, "images/base/etc/caddy/gpudesk-base.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(base), fmt.Sprintf(`":%d"`, port)) || !strings.Contains(string(base), `"status_code": 503`) {
		t.Errorf("images/base/etc/caddy/gpudesk-base.json does not answer 503 on :%d while the portal starts", port)
	}
}

func checkProbes(t *testing.T, d *Desktop, c *corev1.Container) {
	t.Helper()
	open := portalRoutes(t)
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
	wantPath := map[string]string{"startup": "/healthz", "readiness": "/readyz", "liveness": "/healthz"}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want an httpGet", name)
			continue
		}
		g := p.HTTPGet
		if g.Path != wantPath[name] {
			t.Errorf("%s probe asks %s, want %s", name, g.Path, wantPath[name])
		}
		if !open[g.Path] {
			t.Errorf("%s probe asks %s, which the portal does not serve without a login (open routes: %v)", name, g.Path, open)
		}
		port := containerPort(t, c, g.Port.String())
		portalServesPublicly(t, c, port)
		if p.TimeoutSeconds < 2 {
			t.Errorf("%s probe: timeoutSeconds %d: a loaded box answers in more than a second", name, p.TimeoutSeconds)
		}
	}
	if t.Failed() {
		return
	}
	// A box that is provisioning (which may take PROVISIONING_TIMEOUT, 4 h)
	// is never killed: liveness does not ask the path that waits for it.
	if c.LivenessProbe.HTTPGet.Path == "/readyz" {
		t.Error("liveness asks /readyz, which fails for as long as provisioning runs")
	}
	budget := func(p *corev1.Probe) int32 { return p.PeriodSeconds * p.FailureThreshold }
	if b := budget(c.StartupProbe); b < 600 {
		t.Errorf("startup allows %d s for the boot, want at least 10 minutes for a slow first boot", b)
	}
	if b := budget(c.LivenessProbe); b < 60 {
		t.Errorf("liveness kills after %d s, want at least a minute (supervisord restarts a crashed portal in seconds)", b)
	}
	if c.ReadinessProbe.PeriodSeconds > 10 {
		t.Errorf("readiness every %d s: the pod would be marked ready late", c.ReadinessProbe.PeriodSeconds)
	}
}

func checkService(t *testing.T, d *Desktop, c *corev1.Container) {
	t.Helper()
	s := d.Service.Spec
	if !s.PublishNotReadyAddresses {
		t.Error("the Service must route to a pod that is provisioning (publishNotReadyAddresses)")
	}
	var http *corev1.ServicePort
	for i, p := range s.Ports {
		containerPort(t, c, p.TargetPort.String())
		if p.Port == 1111 {
			http = &s.Ports[i]
		}
	}
	if http == nil || containerPort(t, c, http.TargetPort.String()) != 1111 {
		t.Errorf("the Service has no port 1111 to the container's 1111: %v", s.Ports)
	}
	labels := d.StatefulSet.Spec.Template.Labels
	for k, v := range s.Selector {
		if labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod's labels %v", k, v, labels)
		}
	}
	if len(s.Selector) == 0 {
		t.Error("the Service selects nothing")
	}
}

// conf.d's largest stopwaitsecs: a budget below it would cut that program
// short even when it is the only one left to stop.
func maxStopWait(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repo, "conf.d/*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("conf.d: %v %v", files, err)
	}
	most := config.DefaultStopWaitSecs
	re := regexp.MustCompile(`(?m)^stopwaitsecs\s*=\s*(\d+)`)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			n, _ := strconv.Atoi(m[1])
			most = max(most, n)
		}
	}
	return most
}

func checkGrace(t *testing.T, d *Desktop, c *corev1.Container) {
	t.Helper()
	raw, ok := envValue(c, config.ShutdownBudgetEnv)
	if !ok {
		t.Fatalf("no %s: Kubernetes tells the container nothing of its grace period", config.ShutdownBudgetEnv)
	}
	budget, err := strconv.Atoi(raw)
	if err != nil || budget < 1 || budget > config.MaxShutdownBudget {
		t.Fatalf("%s=%q: not a budget supervisord accepts", config.ShutdownBudgetEnv, raw)
	}
	grace := d.StatefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds
	const margin = 5 // the kubelet's own delays, and the exit after the last SIGKILL
	if grace == nil {
		t.Errorf("no terminationGracePeriodSeconds (30 s by default) for a stop budget of %d s", budget)
	} else if *grace < int64(budget+margin) {
		t.Errorf("terminationGracePeriodSeconds %d must cover the stop budget %d s plus %d s", *grace, budget, margin)
	}
	if most := maxStopWait(t); budget < most {
		t.Errorf("stop budget %d s is below conf.d's largest stopwaitsecs (%d s)", budget, most)
	}
}

// secretMounts are the paths where Secret volumes are mounted.
func secretMounts(t *testing.T, d *Desktop, c *corev1.Container) []string {
	t.Helper()
	secretVols := map[string]*corev1.SecretVolumeSource{}
	for _, v := range d.StatefulSet.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secretVols[v.Name] = v.Secret
		}
	}
	var paths []string
	for _, m := range c.VolumeMounts {
		s, ok := secretVols[m.Name]
		if !ok {
			continue
		}
		if !m.ReadOnly {
			t.Errorf("secret volume %s is mounted writable", m.Name)
		}
		if s.DefaultMode == nil || *s.DefaultMode&0o077 != 0 {
			t.Errorf("secret volume %s: defaultMode %v lets others than root read it", m.Name, s.DefaultMode)
		}
		paths = append(paths, m.MountPath+"/")
	}
	return paths
}

func checkSecrets(t *testing.T, d *Desktop, c *corev1.Container) {
	t.Helper()
	mounts := secretMounts(t, d, c)
	files := 0
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s comes from a Secret as a variable; mount it as a file and set %s_FILE", e.Name, e.Name)
		}
		if env.IsSecret(e.Name) {
			t.Errorf("env %s is a secret written into the manifest; use %s_FILE", e.Name, e.Name)
		}
		name, ok := strings.CutSuffix(e.Name, "_FILE")
		if !ok || !(env.IsSecret(name) || name == "SSH_PUBKEY") {
			continue
		}
		files++
		if !slices.ContainsFunc(mounts, func(m string) bool { return strings.HasPrefix(e.Value, m) }) {
			t.Errorf("%s=%s is not inside a mounted Secret (%v)", e.Name, e.Value, mounts)
		}
	}
	for _, f := range c.EnvFrom {
		if f.SecretRef != nil {
			t.Errorf("envFrom a Secret puts every key in the environment")
		}
	}
	if files < 2 {
		t.Errorf("want the web password and token as files (WEB_PASSWORD_FILE, WEB_TOKEN_FILE); found %d", files)
	}
}

func checkPrivileges(t *testing.T, v variant, d *Desktop, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		t.Error("the container is privileged")
	}
	fuse := slices.Contains(v.components, "components/fuse")
	var added []corev1.Capability
	if sc != nil && sc.Capabilities != nil {
		added = sc.Capabilities.Add
	}
	if fuse != slices.Equal(added, []corev1.Capability{"SYS_ADMIN"}) {
		t.Errorf("capabilities added %v; SYS_ADMIN only with the fuse component (fuse: %v)", added, fuse)
	}
	for _, vol := range d.StatefulSet.Spec.Template.Spec.Volumes {
		if vol.HostPath != nil && (!fuse || vol.HostPath.Path != "/dev/fuse") {
			t.Errorf("hostPath volume %s (%s) outside the fuse component", vol.Name, vol.HostPath.Path)
		}
	}
	if d.StatefulSet.Spec.Template.Spec.HostNetwork || d.StatefulSet.Spec.Template.Spec.HostPID {
		t.Error("host network or pid namespace")
	}
}

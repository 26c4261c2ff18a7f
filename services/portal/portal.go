// Package portal wires the portal together: the login (auth), the
// registrations of /run/http_ports (registry) and the Caddy configuration
// that follows them (caddy), the links of each service (links), the pages
// and API (web), and the set-web-credentials command.
package portal

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpudesk/runtime/services/gpuprobe"
	"github.com/gpudesk/runtime/services/logtail"
	"github.com/gpudesk/runtime/services/portal/auth"
	"github.com/gpudesk/runtime/services/portal/caddy"
	"github.com/gpudesk/runtime/services/portal/links"
	"github.com/gpudesk/runtime/services/portal/logview"
	"github.com/gpudesk/runtime/services/portal/registry"
	"github.com/gpudesk/runtime/services/portal/sysinfo"
	"github.com/gpudesk/runtime/services/portal/web"
	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/secrets"
	"github.com/gpudesk/runtime/services/provisioner/webcreds"
	"github.com/gpudesk/runtime/supervisor/client"
)

// ErrUsage marks a bad command line.
var ErrUsage = errors.New("usage")

// Config is the portal's configuration: flags, with defaults from the
// environment.
type Config struct {
	Listen        string // 127.0.0.1:11111
	PublicPort    int    // 1111 (PORTAL_PORT_HOST)
	Root          string // "/": every file below is read under it
	SupervisorURL string
	SupervisorUser,
	SupervisorPassword string
	CaddyAdmin  string // the admin API's unix socket
	Logtail     string // /var/log/logtail.log
	HTTPS       bool   // WEB_ENABLE_HTTPS
	TLSCert     string
	TLSKey      string
	Lifetime    time.Duration
	Protected   []string
	Workspace   string
	NoRegister  bool // do not write the portal's own registration
	CheckCaddy  time.Duration
	LookupEnv   func(string) (string, bool)
	LogFlushAft time.Duration
	// LoginLimitEvery is the per-address refill of failed logins (tests).
	LoginLimitEvery time.Duration
}

// Validate checks c.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if c.PublicPort < 1 || c.PublicPort > 65535 {
		return fmt.Errorf("--public-port %d: not a port (1-65535)", c.PublicPort)
	}
	if !filepath.IsAbs(c.CaddyAdmin) {
		return fmt.Errorf("--caddy-admin %q: an absolute socket path is needed", c.CaddyAdmin)
	}
	if c.Lifetime < time.Minute {
		return fmt.Errorf("session lifetime %s: at least a minute", c.Lifetime)
	}
	return nil
}

func envOr(lookup func(string) (string, bool), k, def string) string {
	if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// ParseArgs reads the command line.
func ParseArgs(args []string, lookup func(string) (string, bool)) (Config, error) {
	c := Config{LookupEnv: lookup}
	fs := flag.NewFlagSet("portal", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pub, _ := strconv.Atoi(envOr(lookup, "PORTAL_PORT_HOST", envOr(lookup, "SERVICEPORTAL_PORT_HOST", "1111")))
	hours, _ := strconv.ParseFloat(envOr(lookup, "PORTAL_SESSION_HOURS", "12"), 64)
	fs.StringVar(&c.Listen, "listen", envOr(lookup, "PORTAL_LISTEN", "127.0.0.1:11111"), "address the portal listens on")
	fs.IntVar(&c.PublicPort, "public-port", pub, "public port Caddy serves the portal on")
	fs.StringVar(&c.Root, "root", "/", "root that every file is read under (tests)")
	fs.StringVar(&c.SupervisorURL, "supervisor-url", envOr(lookup, "SUPERVISOR_SERVER_URL", "unix:///run/supervisor.sock"), "supervisord's XML-RPC URL")
	fs.StringVar(&c.CaddyAdmin, "caddy-admin", envOr(lookup, "CADDY_ADMIN_SOCKET", "/run/gpudesk/caddy-admin.sock"), "Caddy admin API unix socket")
	fs.StringVar(&c.Logtail, "logtail", logtail.DefaultOut, "logtail's stream file")
	fs.BoolVar(&c.NoRegister, "no-register", false, "do not write the portal's own /run/http_ports registration")
	fs.DurationVar(&c.CheckCaddy, "caddy-check", time.Second, "how often Caddy's configuration is checked")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	c.SupervisorUser = envOr(lookup, "SUPERVISOR_USERNAME", "")
	c.SupervisorPassword = envOr(lookup, "SUPERVISOR_PASSWORD", "")
	c.HTTPS = strings.EqualFold(envOr(lookup, "WEB_ENABLE_HTTPS", "false"), "true")
	c.TLSCert = envOr(lookup, "PORTAL_TLS_CERT", "/opt/caddy/tls/container.crt")
	c.TLSKey = envOr(lookup, "PORTAL_TLS_KEY", "/opt/caddy/tls/container.key")
	c.Lifetime = time.Duration(hours * float64(time.Hour))
	c.Protected = strings.FieldsFunc(envOr(lookup, "PORTAL_UNSTOPPABLE", "portal,caddy"), func(r rune) bool { return r == ',' || r == ' ' })
	c.Workspace = envOr(lookup, "WORKSPACE", "/workspace")
	return c, c.Validate()
}

func (c *Config) under(p string) string { return filepath.Join(c.Root, p) }

// Main runs the portal, or set-web-credentials when args start with it.
func Main(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "set-web-credentials" {
		return SetWebCredentials(args[1:], lookup, stdin, stdout)
	}
	cfg, err := ParseArgs(args, lookup)
	if err != nil {
		return err
	}
	return Run(ctx, cfg, stderr)
}

// redactions are the values the log views mask: logtail's variables from
// the environment, and every secret the boot stored (the boot removes
// them from supervisord's environment, so the store is where they are).
func redactions(cfg Config) *logtail.Redactor {
	var vals []string
	names := append([]string(nil), logtail.SecretVars...)
	if v, ok := cfg.LookupEnv(logtail.RedactVar); ok {
		names = append(names, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	for _, n := range names {
		if v, ok := cfg.LookupEnv(n); ok && v != "" {
			vals = append(vals, v)
		}
	}
	dir := cfg.under(secrets.Dir)
	if des, err := os.ReadDir(dir); err == nil {
		for _, de := range des {
			if b, err := os.ReadFile(filepath.Join(dir, de.Name())); err == nil && len(b) > 0 {
				vals = append(vals, string(b))
			}
		}
	}
	return logtail.NewRedactor(vals)
}

// Run serves until ctx is done.
func Run(ctx context.Context, cfg Config, stderr io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "portal: "+format+"\n", a...) }
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	key, err := auth.LoadKey(cfg.under(auth.KeyFile))
	if err != nil {
		return err
	}
	au := auth.New(auth.Config{CredsFile: cfg.under(webcreds.File), Key: key, Lifetime: cfg.Lifetime,
		LimitEvery: cfg.LoginLimitEvery, LogoutsFile: cfg.under(auth.LogoutsFile)})
	if err := au.LoadLogouts(); err != nil {
		logf("%v", err)
	}
	if st := au.Status(); st.Problem != "" {
		logf("%s", st.Problem)
	} else if !st.Enabled {
		logf("warning: WEB_ENABLE_AUTH=false: every web service is open to anyone who reaches it")
	}
	sup, err := client.New(cfg.SupervisorURL, cfg.SupervisorUser, cfg.SupervisorPassword)
	if err != nil {
		return fmt.Errorf("supervisor URL %q: %w", cfg.SupervisorURL, err)
	}
	protected := map[string]bool{}
	for _, p := range cfg.Protected {
		protected[p] = true
	}
	_, listenPortStr, _ := net.SplitHostPort(cfg.Listen)
	listenPort, _ := strconv.Atoi(listenPortStr)

	var problems []string
	var tlsFiles *caddy.TLS
	scheme := "http"
	if cfg.HTTPS {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			p := fmt.Sprintf("WEB_ENABLE_HTTPS=true, but the pair %s / %s cannot be used (%v): serving plain HTTP", cfg.TLSCert, cfg.TLSKey, err)
			problems = append(problems, p)
			logf("%s", p)
		} else {
			tlsFiles = &caddy.TLS{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey}
			scheme = "https"
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}

	poller := web.NewPoller(sup, cfg.under(bootstatus.File), protected)
	syncer := caddy.NewSyncer(caddy.NewAdmin(cfg.CaddyAdmin), caddy.Options{AdminSocket: cfg.CaddyAdmin, PortalAddr: cfg.Listen, TLS: tlsFiles})
	syncer.Check = cfg.CheckCaddy
	syncer.Report = func(problem string) {
		if problem != "" {
			logf("caddy: %s (retrying)", problem)
		} else {
			logf("caddy: configuration applied")
		}
	}
	resolver := links.NewResolver(cfg.LookupEnv, scheme)

	var entries atomic.Pointer[[]registry.Entry]
	entries.Store(&[]registry.Entry{})
	portalSite := caddy.Site{PublicPort: cfg.PublicPort, Upstream: listenPort, Portal: true}
	onChange := func(es []registry.Entry, err error) {
		if err != nil {
			logf("%v", err)
			es = append(es, registry.Entry{File: cfg.under("run/http_ports"), Err: err.Error()})
		}
		entries.Store(&es)
		sites := []caddy.Site{portalSite}
		valid := registry.Valid(es)
		for _, r := range valid {
			if r.PublicPort == cfg.PublicPort {
				continue // the portal's own site
			}
			sites = append(sites, caddy.Site{PublicPort: r.PublicPort, Upstream: r.ListenPort, Portal: r.ListenPort == listenPort})
		}
		syncer.Set(sites)
		resolver.SetRegistrations(valid)
		poller.ServicesChanged()
	}
	portsDir := cfg.under("run/http_ports")
	goRun(func() {
		registry.Watch(ctx, portsDir, 5*time.Second, onChange, func(err error) { logf("%v", err) })
	})
	goRun(func() { syncer.Run(ctx) })
	goRun(func() { resolver.Run(ctx) })
	goRun(func() { poller.Run(ctx) })
	rd := &sysinfo.Reader{Root: cfg.Root, Disks: []string{"/", cfg.Workspace}}
	var rdMu sync.Mutex
	sysCache := &web.Cached[sysinfo.Info]{Ctx: ctx, MaxAge: 2 * time.Second, Fetch: func(context.Context) (sysinfo.Info, error) {
		rdMu.Lock()
		defer rdMu.Unlock()
		return rd.Read(time.Now()), nil
	}}
	gpuCache := &web.Cached[*gpuprobe.Report]{Ctx: ctx, MaxAge: 5 * time.Second, Fetch: func(ctx context.Context) (*gpuprobe.Report, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return gpuprobe.Probe(ctx, gpuprobe.Options{Root: cfg.Root, Live: true, LookupEnv: cfg.LookupEnv})
	}}
	hub := &logview.Hub{Redactor: redactions(cfg), FlushAfter: cfg.LogFlushAft}
	srv := &web.Server{
		Auth: au, Sup: sup, Poller: poller,
		Registrations: func() []registry.Entry { return *entries.Load() },
		Links:         resolver,
		Caddy:         syncer.Status,
		Logs:          hub,
		Redactor:      hub.Redactor,
		LogtailPath:   cfg.under(strings.TrimPrefix(cfg.Logtail, "/")),
		System:        sysCache,
		GPUs:          gpuCache,
		Problems:      problems,
		Logf:          logf,
	}
	h, err := srv.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if !cfg.NoRegister {
		if err := writeOwnRegistration(portsDir, cfg.PublicPort, listenPort); err != nil {
			logf("%v", err)
		} else {
			defer os.Remove(filepath.Join(portsDir, strconv.Itoa(cfg.PublicPort)))
		}
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	logf("listening on %s (public port %d)", ln.Addr(), cfg.PublicPort)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	hs.Shutdown(sctx) // SSE handlers end with ctx (BaseContext)
	wg.Wait()
	hub.Wait()
	sysCache.Close()
	gpuCache.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// writeOwnRegistration registers the portal like any service, so quick
// tunnels and other readers of /run/http_ports see it.
func writeOwnRegistration(dir string, public, listen int) error {
	b, _ := json.Marshal(map[string]string{
		"listen_port":  strconv.Itoa(listen),
		"metrics_port": strconv.Itoa(public + 20000),
		"proxy_port":   strconv.Itoa(public),
		"service_name": "Portal",
		"program":      "portal",
	})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("registering the portal: %w", err)
	}
	tmp := filepath.Join(dir, ".portal.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("registering the portal: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(public))); err != nil {
		return fmt.Errorf("registering the portal: %w", err)
	}
	return nil
}

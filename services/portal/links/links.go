// Package links computes the public links of a web service the way
// ai-dock's direct-url, cfqt-url and cfnt-url scripts did: a direct URL
// from DIRECT_ADDRESS, the external address or the platform's port
// mapping (Vast, RunPod), the Cloudflare quick tunnel of the service (from
// its cloudflared's metrics server) and the named tunnel's hostname for
// the port (from the named tunnel's ingress). Lookups run in the
// background with short timeouts; the page reads the last answers.
package links

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpudesk/runtime/services/portal/registry"
)

// Links are the links of one service; empty when unknown.
type Links struct {
	Direct string `json:"direct,omitempty"`
	Quick  string `json:"quick_tunnel,omitempty"`
	Named  string `json:"named_tunnel,omitempty"`
}

// Env reads the environment (os.LookupEnv in the portal).
type Env func(string) (string, bool)

func (e Env) get(k string) string { v, _ := e(k); return strings.TrimSpace(v) }

// Resolver holds the background answers.
type Resolver struct {
	Env Env
	// Scheme is "https" when the sites serve TLS.
	Scheme string
	// NamedMetrics is the named tunnel's metrics address (127.0.0.1:2999).
	NamedMetrics string
	// IPURL answers the external address (a Cloudflare trace page).
	IPURL   string
	Timeout time.Duration
	Every   time.Duration
	HTTP    *http.Client
	// Environ lists the environment (os.Environ when nil): Vast is known by
	// the presence of any VAST_TCP_PORT_ variable.
	Environ func() []string

	mu      sync.Mutex
	regs    []registry.Registration
	quick   map[int]string // public port → hostname
	named   map[int]string
	extIP   string
	extAt   time.Time
	kick    chan struct{}
	started bool
}

// NewResolver returns a Resolver with ai-dock's defaults.
func NewResolver(env Env, scheme string) *Resolver {
	return &Resolver{Env: env, Scheme: scheme, NamedMetrics: "127.0.0.1:2999",
		IPURL: "https://1.1.1.1/cdn-cgi/trace", Timeout: 2 * time.Second, Every: 10 * time.Second,
		HTTP: &http.Client{}, quick: map[int]string{}, named: map[int]string{}, kick: make(chan struct{}, 1)}
}

// SetRegistrations says which services to look up.
func (r *Resolver) SetRegistrations(regs []registry.Registration) {
	r.mu.Lock()
	r.regs = append([]registry.Registration(nil), regs...)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run refreshes the answers every Every until ctx is done.
func (r *Resolver) Run(ctx context.Context) {
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		r.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)

func (r *Resolver) getJSON(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (r *Resolver) refresh(ctx context.Context) {
	r.mu.Lock()
	regs := append([]registry.Registration(nil), r.regs...)
	needIP := r.needExternalIP() && time.Since(r.extAt) > r.ipCacheFor()
	r.mu.Unlock()

	quick := map[int]string{}
	for _, reg := range regs {
		if reg.MetricsPort == 0 {
			continue
		}
		var v struct{ Hostname string }
		if r.getJSON(ctx, "http://127.0.0.1:"+strconv.Itoa(reg.MetricsPort)+"/quicktunnel", &v) == nil && hostnameRE.MatchString(v.Hostname) {
			quick[reg.PublicPort] = v.Hostname
		}
	}
	named := map[int]string{}
	var cfg struct {
		Config struct {
			Ingress []struct{ Hostname, Service string }
		}
	}
	if r.getJSON(ctx, "http://"+r.NamedMetrics+"/config", &cfg) == nil {
		for _, in := range cfg.Config.Ingress {
			u, err := url.Parse(in.Service)
			if err != nil || !hostnameRE.MatchString(in.Hostname) {
				continue
			}
			if p, err := registry.ParsePort(u.Port()); err == nil {
				if _, dup := named[p]; !dup {
					named[p] = in.Hostname
				}
			}
		}
	}
	var ip string
	if needIP {
		ip = r.lookupIP(ctx)
	}
	r.mu.Lock()
	r.quick, r.named = quick, named
	if ip != "" {
		r.extIP, r.extAt = ip, time.Now()
	}
	r.mu.Unlock()
}

func (r *Resolver) ipCacheFor() time.Duration {
	if n, err := strconv.Atoi(r.Env.get("EXTERNAL_IP_CACHE_SECS")); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return 900 * time.Second
}

// needExternalIP: direct links use the external address on Vast and with
// DIRECT_ADDRESS_GET_WAN=true.
func (r *Resolver) needExternalIP() bool {
	if strings.EqualFold(r.Env.get("DIRECT_ADDRESS_GET_WAN"), "true") {
		return true
	}
	return r.hasPrefix("VAST_TCP_PORT_")
}

func (r *Resolver) hasPrefix(p string) bool {
	environ := r.Environ
	if environ == nil {
		environ = os.Environ
	}
	for _, kv := range environ() {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

// lookupIP asks for the external address; only an IP address is kept
// (ai-dock's cache file in /tmp could be poisoned by any user; this one is
// in memory).
func (r *Resolver) lookupIP(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.IPURL, nil)
	if err != nil {
		return ""
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8192))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ip="); ok {
			if ip := net.ParseIP(strings.TrimSpace(v)); ip != nil {
				return ip.String()
			}
		}
	}
	return ""
}

// For returns the links of reg. host is the host the browser reached the
// portal on (used when DIRECT_ADDRESS is not set, so LAN users are not sent
// to localhost).
func (r *Resolver) For(reg registry.Registration, host string) Links {
	r.mu.Lock()
	quick, named, ip := r.quick[reg.PublicPort], r.named[reg.PublicPort], r.extIP
	r.mu.Unlock()
	var l Links
	if quick != "" {
		l.Quick = "https://" + quick + "/"
	}
	if named != "" {
		l.Named = "https://" + named + "/"
	}
	l.Direct = r.direct(reg, host, ip, l.Quick)
	if reg.URL == "" && r.Env.get(envName(reg.Name)+"_URL") == "" {
		l.Direct = withPath(l.Direct, reg.Path)
	}
	l.Quick, l.Named = withPath(l.Quick, reg.Path), withPath(l.Named, reg.Path)
	return l
}

// withPath opens a computed link (ending in "/") at the service's path; a
// preset URL is the user's and kept as given.
func withPath(link, path string) string {
	if link == "" || path == "" || !strings.HasSuffix(link, "/") {
		return link
	}
	return link + strings.TrimPrefix(path, "/")
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (r *Resolver) direct(reg registry.Registration, host, ip, quick string) string {
	scheme := r.Scheme + "://"
	if reg.URL != "" {
		return reg.URL
	}
	if u := r.Env.get(envName(reg.Name) + "_URL"); u != "" && registry.CheckURL(u) == nil {
		return u
	}
	port := reg.PublicPort
	if strings.EqualFold(r.Env.get("DIRECT_ADDRESS_GET_WAN"), "true") {
		if ip != "" {
			return scheme + hostPort(ip, port) + "/"
		}
		return ""
	}
	if r.hasPrefix("VAST_TCP_PORT_") {
		if m, err := registry.ParsePort(r.Env.get("VAST_TCP_PORT_" + strconv.Itoa(port))); err == nil && ip != "" {
			return scheme + hostPort(ip, m) + "/"
		}
		return quick
	}
	if pub := r.Env.get("RUNPOD_PUBLIC_IP"); pub != "" {
		if m, err := registry.ParsePort(r.Env.get("RUNPOD_TCP_PORT_" + strconv.Itoa(port))); err == nil && net.ParseIP(pub) != nil {
			return scheme + hostPort(pub, m) + "/"
		}
	}
	if pod := r.Env.get("RUNPOD_POD_ID"); pod != "" && hostnameRE.MatchString(pod+".x") {
		return "https://" + pod + "-" + strconv.Itoa(port) + ".proxy.runpod.net/"
	}
	addr := r.Env.get("DIRECT_ADDRESS")
	if strings.EqualFold(addr, "false") {
		return ""
	}
	if addr == "" || addr == "localhost" && host != "" {
		addr = host
	}
	if addr == "" {
		addr = "localhost"
	}
	if strings.ContainsAny(addr, "/?#@ ") {
		return ""
	}
	return scheme + hostPort(strings.Trim(addr, "[]"), port) + "/"
}

// envName turns a service name into the prefix of its <SVC>_URL preset:
// "Service Portal" → SERVICE_PORTAL.
func envName(name string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(name) {
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

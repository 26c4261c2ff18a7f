// Package tunnels runs Cloudflare tunnels for the container's web
// services: one quick tunnel (a *.trycloudflare.com link, no account) per
// service registered in /run/http_ports, and the named tunnel of
// CF_TUNNEL_TOKEN. Each cloudflared is a child of this program, restarted
// with backoff when it exits; what each tunnel is (its URL, its state, the
// last error) is published as one JSON file per tunnel in /run/tunnels,
// which the portal reads.
package tunnels

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Registration is one /run/http_ports/<port> file, as the services write
// it (ai-dock's format: a flat JSON object whose values are strings,
// although numbers and booleans are accepted too).
type Registration struct {
	Port        int    // the public (Caddy) port: the file's name
	ServiceName string // service_name
	MetricsPort int    // metrics_port, 0 when absent: cloudflared's metrics address
	QuickTunnel bool   // false when the file says "quick_tunnel": "false"
}

// maxRegistration bounds what is read of one file: a registration is a
// few hundred bytes.
const maxRegistration = 64 << 10

// ParseRegistration reads the file called name (the public port) with
// content b. The port comes from the name, as ai-dock keyed services by
// it; a proxy_port inside that disagrees is an error, so a copied file
// cannot send one service's tunnel to another's port.
func ParseRegistration(name string, b []byte) (Registration, error) {
	port, err := parsePort(name)
	if err != nil {
		return Registration{}, fmt.Errorf("registration file name %q is not a port (1-65535)", name)
	}
	if len(b) > maxRegistration {
		return Registration{}, fmt.Errorf("registration %s: larger than %d bytes", name, maxRegistration)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return Registration{}, fmt.Errorf("registration %s: not a JSON object: %w", name, err)
	}
	r := Registration{Port: port, QuickTunnel: true}
	if v, ok := raw["proxy_port"]; ok && v != nil && v != "" {
		p, err := portValue(v)
		if err != nil {
			return Registration{}, fmt.Errorf("registration %s: proxy_port %v: %w", name, v, err)
		}
		if p != port {
			return Registration{}, fmt.Errorf("registration %s: proxy_port %d differs from the file name %d", name, p, port)
		}
	}
	if v, ok := raw["metrics_port"]; ok && v != nil && v != "" {
		p, err := portValue(v)
		if err != nil {
			return Registration{}, fmt.Errorf("registration %s: metrics_port %v: %w", name, v, err)
		}
		if p == port {
			return Registration{}, fmt.Errorf("registration %s: metrics_port %d is the service's own port", name, p)
		}
		r.MetricsPort = p
	}
	if v, ok := raw["service_name"].(string); ok {
		r.ServiceName = clean(v, 200)
	}
	switch v := raw["quick_tunnel"].(type) {
	case nil:
	case bool:
		r.QuickTunnel = v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return Registration{}, fmt.Errorf("registration %s: quick_tunnel %q: use true or false", name, v)
		}
		r.QuickTunnel = b
	default:
		return Registration{}, fmt.Errorf("registration %s: quick_tunnel %v: use true or false", name, v)
	}
	return r, nil
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a port")
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("not a port")
	}
	return p, nil
}

func portValue(v any) (int, error) {
	switch x := v.(type) {
	case string:
		return parsePort(strings.TrimSpace(x))
	case float64:
		if x != float64(int(x)) || x < 1 || x > 65535 {
			return 0, fmt.Errorf("not a port (1-65535)")
		}
		return int(x), nil
	}
	return 0, fmt.Errorf("not a port (1-65535)")
}

// clean keeps printable characters only, at most n bytes: a name is shown
// in logs and pages.
func clean(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			continue
		}
		if b.Len()+len(string(r)) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

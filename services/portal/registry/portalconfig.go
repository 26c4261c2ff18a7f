package registry

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// PortalConfig is one application of Vast's PORTAL_CONFIG variable:
// "hostname:external_port:internal_port:path:name", entries separated by
// "|" (for example "localhost:8080:18080:/:Jupyter|localhost:7860:17860:/:WebUI").
// An entry whose two ports differ is served by Caddy on the external port
// behind the login and proxied to the internal one; one whose ports are
// equal is the application listening on the public port itself, which
// Caddy cannot serve, so it has no registration (Vast's "direct" apps,
// reached without any login: Direct is set and the caller says so).
type PortalConfig struct {
	Reg    Registration
	Direct bool
}

// PortalOwnPort is the portal's own public port: an entry for it (Vast's
// default PORTAL_CONFIG starts with "localhost:1111:11111:/:Instance
// Portal") is the portal, which registers itself.
const PortalOwnPort = 1111

// ParsePortalConfig reads a PORTAL_CONFIG value. Every entry that cannot
// be used is an error naming its position and the part at fault; the
// others are returned. Only loopback hosts are accepted: Caddy proxies to
// 127.0.0.1.
func ParsePortalConfig(s string) ([]PortalConfig, []error) {
	var out []PortalConfig
	var errs []error
	seen := map[int]int{}
	for i, raw := range strings.Split(s, "|") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		n := i + 1
		pc, err := parsePortalEntry(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_CONFIG entry %d: %w", n, err))
			continue
		}
		if pc.Reg.PublicPort == PortalOwnPort && !pc.Direct {
			continue
		}
		if first, dup := seen[pc.Reg.PublicPort]; dup {
			errs = append(errs, fmt.Errorf("PORTAL_CONFIG entry %d: external port %d already used by entry %d", n, pc.Reg.PublicPort, first))
			continue
		}
		seen[pc.Reg.PublicPort] = n
		if len(out) == MaxEntries {
			errs = append(errs, fmt.Errorf("PORTAL_CONFIG: more than %d entries, the rest ignored", MaxEntries))
			break
		}
		out = append(out, pc)
	}
	return out, errs
}

func parsePortalEntry(raw string) (PortalConfig, error) {
	var pc PortalConfig
	f := strings.SplitN(raw, ":", 5)
	if len(f) != 5 {
		return pc, fmt.Errorf("%d fields, want hostname:external_port:internal_port:path:name", len(f))
	}
	switch strings.ToLower(strings.Trim(f[0], "[]")) {
	case "localhost", "127.0.0.1", "::1":
	default:
		return pc, fmt.Errorf("hostname %q: only localhost is served (Caddy proxies to 127.0.0.1)", clip(f[0]))
	}
	ext, err := ParsePort(strings.TrimSpace(f[1]))
	if err != nil {
		return pc, fmt.Errorf("external port %q: %w", clip(f[1]), err)
	}
	in, err := ParsePort(strings.TrimSpace(f[2]))
	if err != nil {
		return pc, fmt.Errorf("internal port %q: %w", clip(f[2]), err)
	}
	path, err := CleanPath(strings.TrimSpace(f[3]))
	if err != nil {
		return pc, fmt.Errorf("path: %w", err)
	}
	name, err := checkText("name", f[4], MaxNameLen)
	if err != nil {
		return pc, err
	}
	if name == "" {
		name = "Port " + strconv.Itoa(ext)
	}
	pc.Reg = Registration{PublicPort: ext, ListenPort: in, Name: name, Path: path}
	pc.Direct = ext == in
	return pc, nil
}

// File is reg as a registration file's content (ai-dock's string fields,
// and the extensions when set), which Parse reads back to reg.
func (reg Registration) File() []byte {
	m := map[string]string{
		"listen_port":  strconv.Itoa(reg.ListenPort),
		"proxy_port":   strconv.Itoa(reg.PublicPort),
		"service_name": reg.Name,
		"service_url":  reg.URL,
	}
	if reg.MetricsPort != 0 {
		m["metrics_port"] = strconv.Itoa(reg.MetricsPort)
	}
	if reg.Program != "" {
		m["program"] = reg.Program
	}
	if reg.Path != "" {
		m["service_path"] = reg.Path
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return append(b, '\n')
}

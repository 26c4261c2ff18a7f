// Package caddy builds Caddy's JSON configuration from the web service
// registrations and keeps a running Caddy loaded with it through the
// admin API on a unix socket. The configuration is built as Go values and
// encoded by encoding/json: no value from a registration is ever pasted
// into text that Caddy parses (ai-dock's sed-built Caddyfile could be
// injected by any member of the ports folder's group).
package caddy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Site is one public port.
type Site struct {
	PublicPort int
	// Upstream is the local port the site proxies to.
	Upstream int
	// Portal marks the portal's own site: the portal checks logins itself,
	// so no forward_auth is asked.
	Portal bool
	// Open serves the site without a login (WEB_ENABLE_AUTH=false is
	// handled by the portal's answer instead; this is for sites that
	// must never ask).
	Open bool
}

// TLS is the certificate pair of WEB_ENABLE_HTTPS.
type TLS struct {
	CertFile, KeyFile string
}

// Options is everything the configuration depends on.
type Options struct {
	// AdminSocket is the admin API's unix socket path.
	AdminSocket string
	// PortalAddr is the portal's host:port (127.0.0.1:11111).
	PortalAddr string
	Sites      []Site
	TLS        *TLS
}

// StartingHeader marks the "starting" page, so that scripts can tell it
// from the service's own answers.
const StartingHeader = "X-Gpudesk-Starting"

// startingBody is answered while a backend does not accept connections.
// It holds no registration data and no braces (Caddy would read {…} as a
// placeholder), and refreshes itself without script.
const startingBody = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">` +
	`<title>Starting</title></head><body style="font-family:sans-serif;background:#111;color:#ddd;text-align:center;padding-top:20vh">` +
	`<h1>Starting&hellip;</h1><p>This service is not answering yet. The page reloads by itself.</p></body></html>`

type obj = map[string]any

// Build returns the configuration for o.
func Build(o Options) ([]byte, error) {
	if o.AdminSocket == "" || o.PortalAddr == "" {
		return nil, fmt.Errorf("caddy config: admin socket and portal address are required")
	}
	sites := append([]Site(nil), o.Sites...)
	sort.Slice(sites, func(i, j int) bool { return sites[i].PublicPort < sites[j].PublicPort })
	servers := obj{}
	for i, s := range sites {
		if s.PublicPort < 1 || s.PublicPort > 65535 || s.Upstream < 1 || s.Upstream > 65535 {
			return nil, fmt.Errorf("caddy config: site %d: port out of range (public %d, upstream %d)", i, s.PublicPort, s.Upstream)
		}
		name := "port" + strconv.Itoa(s.PublicPort)
		if _, dup := servers[name]; dup {
			return nil, fmt.Errorf("caddy config: public port %d appears twice", s.PublicPort)
		}
		servers[name] = server(o, s)
	}
	cfg := obj{
		"admin": obj{"listen": "unix/" + o.AdminSocket},
		"apps": obj{
			"http": obj{"servers": servers},
		},
		"logging": obj{"logs": obj{"default": obj{"level": "WARN"}}},
	}
	if o.TLS != nil {
		cfg["apps"].(obj)["tls"] = obj{
			"certificates": obj{"load_files": []any{obj{"certificate": o.TLS.CertFile, "key": o.TLS.KeyFile, "tags": []any{"container"}}}},
		}
	}
	return json.Marshal(cfg)
}

func proxy(dial string) obj {
	return obj{"handler": "reverse_proxy", "upstreams": []any{obj{"dial": dial}}}
}

func server(o Options, s Site) obj {
	var routes []any
	backend := proxy("127.0.0.1:" + strconv.Itoa(s.Upstream))
	if s.Portal {
		routes = append(routes, obj{"handle": []any{backend}})
	} else {
		// The login page, its assets and the auth endpoint come from the
		// portal on every site, so each origin (direct port, quick or
		// named tunnel) logs in on itself.
		routes = append(routes, obj{
			"match":    []any{obj{"path": []any{"/.gpudesk/*"}}},
			"handle":   []any{proxy(o.PortalAddr)},
			"terminal": true,
		})
		handle := []any{
			// Remote-User is the portal's to set: a client's own is dropped.
			obj{"handler": "headers", "request": obj{"delete": []any{"Remote-User"}}},
		}
		if !s.Open {
			handle = append(handle, forwardAuth(o.PortalAddr))
		}
		handle = append(handle, backend)
		routes = append(routes, obj{"handle": handle})
	}
	srv := obj{
		"listen":          []any{":" + strconv.Itoa(s.PublicPort)},
		"routes":          routes,
		"automatic_https": obj{"disable": true},
		"errors":          obj{"routes": startingRoutes()},
	}
	if o.TLS != nil {
		srv["listener_wrappers"] = []any{obj{"wrapper": "http_redirect"}, obj{"wrapper": "tls"}}
		srv["tls_connection_policies"] = []any{obj{"certificate_selection": obj{"any_tag": []any{"container"}}}}
	}
	return srv
}

// forwardAuth is what Caddyfile's forward_auth expands to: a GET of the
// portal's auth endpoint carrying the original request's headers; a 2xx
// answer lets the request go on with Remote-User copied, anything else is
// the client's answer.
func forwardAuth(portal string) obj {
	return obj{
		"handler":   "reverse_proxy",
		"upstreams": []any{obj{"dial": portal}},
		"rewrite":   obj{"method": "GET", "uri": "/.gpudesk/auth"},
		"headers": obj{"request": obj{"set": obj{
			"X-Forwarded-Method": []any{"{http.request.method}"},
			"X-Forwarded-Uri":    []any{"{http.request.uri}"},
		}}},
		"handle_response": []any{obj{
			"match": obj{"status_code": []any{2}},
			"routes": []any{obj{"handle": []any{obj{
				"handler": "headers",
				"request": obj{"set": obj{"Remote-User": []any{"{http.reverse_proxy.header.Remote-User}"}}},
			}}}},
		}},
	}
}

// startingRoutes answer a backend that is down (502/503/504). Through a
// Cloudflare tunnel (Cf-Ray set) the answer is 200, because Cloudflare
// replaces a 5xx with its own page; elsewhere it is 503. Both carry
// StartingHeader.
func startingRoutes() []any {
	down := "{http.error.status_code} >= 502 && {http.error.status_code} <= 504"
	resp := func(code int) obj {
		return obj{
			"handler":     "static_response",
			"status_code": code,
			"headers": obj{
				StartingHeader:  []any{"1"},
				"Content-Type":  []any{"text/html; charset=utf-8"},
				"Cache-Control": []any{"no-store"},
				"Retry-After":   []any{"3"},
			},
			"body": startingBody,
		}
	}
	return []any{
		obj{"match": []any{obj{"expression": down + ` && {http.request.header.Cf-Ray} != ""`}}, "handle": []any{resp(200)}, "terminal": true},
		obj{"match": []any{obj{"expression": down}}, "handle": []any{resp(503)}, "terminal": true},
	}
}

package tunnels

// A stand-in for cloudflared (which cannot be downloaded here nor reach
// Cloudflare), run when the test binary is called as "cloudflared". It
// does what we use of cloudflared 2025.x, as its documentation and source
// describe it (nothing of it is copied):
//
//   - `cloudflared tunnel [--no-autoupdate] [--metrics ADDR] [--no-tls-verify] --url URL`
//     asks trycloudflare.com for a quick tunnel (logging the disclaimer
//     and "Requesting new quick Tunnel on trycloudflare.com..."), logs a
//     table with https://<hostname>, then starts the metrics server, whose
//     /quicktunnel answers {"hostname":"<hostname>"} (no https://), and
//     logs "Registered tunnel connection". So /quicktunnel is refused
//     until the hostname is known.
//   - `cloudflared tunnel [flags] run` takes the token from --token,
//     TUNNEL_TOKEN or the file of TUNNEL_TOKEN_FILE; none: the usage error
//     about the tunnel's ID or name, exit 1; a token that is not base64 of
//     a JSON {"a","t","s"}: "Provided Tunnel token is not valid.", exit 1;
//     otherwise the metrics server, whose /config answers the versioned
//     configuration {"version":N,"config":{"ingress":[{"hostname":…,"service":…},…]}}.
//   - The metrics server also has /ready (200 {"status":200,"readyConnections":1,
//     "connectorId":…}), /healthcheck ("OK") and /metrics (Prometheus text).
//   - TUNNEL_TRANSPORT_PROTOCOL is the --protocol flag's variable; log
//     lines are "<RFC 3339 UTC> INF|ERR <message> key=value" on stderr;
//     SIGTERM shuts it down ("Initiating graceful shutdown due to signal
//     terminated ...") with exit 0.
//
// Knobs for the tests: STANDIN_DIR (one record per tunnel, named by its
// hostname: what it was asked and given), STANDIN_MAX_DELAY_MS (a random
// delay before the hostname is known), STANDIN_FAIL_QUICK=1 (the request
// to trycloudflare.com fails), STANDIN_HOSTNAMES (the named tunnel's
// ingress hostnames).

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type standinRecord struct {
	PID          int    `json:"pid"`
	Mode         string `json:"mode"`
	URL          string `json:"url"`
	Protocol     string `json:"protocol"`
	NoAutoupdate bool   `json:"no_autoupdate"`
	NoTLSVerify  bool   `json:"no_tls_verify"`
	Metrics      string `json:"metrics"`
	TokenFrom    string `json:"token_from"`
	Hostname     string `json:"hostname"`
}

func cfLog(level, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), level, fmt.Sprintf(format, a...))
}

func standin() int {
	args := os.Args[1:]
	if len(args) == 0 || args[0] != "tunnel" {
		fmt.Fprintln(os.Stderr, "stand-in: only `cloudflared tunnel ...` is known")
		return 1
	}
	rec := standinRecord{PID: os.Getpid(), Mode: "quick", Protocol: os.Getenv("TUNNEL_TRANSPORT_PROTOCOL"), Metrics: os.Getenv("TUNNEL_METRICS")}
	token := ""
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		val := func() string {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v
			}
			i++
			if i < len(rest) {
				return rest[i]
			}
			return ""
		}
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--no-autoupdate":
			rec.NoAutoupdate = true
		case "--no-tls-verify":
			rec.NoTLSVerify = true
		case "--metrics":
			rec.Metrics = val()
		case "--url":
			rec.URL = val()
		case "--protocol":
			rec.Protocol = val()
		case "--token":
			token, rec.TokenFrom = val(), "argv"
		case "run":
			rec.Mode = "named"
		default:
			fmt.Fprintf(os.Stderr, "Incorrect Usage: flag provided but not defined: %s\n", a)
			return 1
		}
	}
	if rec.Metrics == "" {
		rec.Metrics = "127.0.0.1:0"
	}
	mux := http.NewServeMux()
	hostname := ""
	if rec.Mode == "named" {
		if token == "" {
			if token = os.Getenv("TUNNEL_TOKEN"); token != "" {
				rec.TokenFrom = "env"
			} else if f := os.Getenv("TUNNEL_TOKEN_FILE"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					fmt.Fprintf(os.Stderr, "Failed to read token file: %v\n", err)
					return 1
				}
				token, rec.TokenFrom = strings.TrimSpace(string(b)), "file"
			}
		}
		if token == "" {
			fmt.Fprintln(os.Stderr, `"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file.`)
			return 1
		}
		var t struct{ A, T, S string }
		b, err := base64.StdEncoding.DecodeString(token)
		if err != nil || json.Unmarshal(b, &t) != nil || t.A == "" || t.T == "" || t.S == "" {
			fmt.Fprintln(os.Stderr, "Provided Tunnel token is not valid.")
			return 1
		}
		cfLog("INF", "Starting tunnel tunnelID=%s", t.T)
		var rules []map[string]string
		for _, h := range strings.Split(os.Getenv("STANDIN_HOSTNAMES"), ",") {
			if h != "" {
				rules = append(rules, map[string]string{"hostname": h, "service": "http://localhost:1111"})
			}
		}
		rules = append(rules, map[string]string{"service": "http_status:404"})
		mux.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"version": 3, "config": map[string]any{
				"ingress": rules, "warp-routing": map[string]any{"enabled": false}, "originRequest": map[string]any{}}})
		})
	} else {
		cfLog("INF", "Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out.")
		cfLog("INF", "Requesting new quick Tunnel on trycloudflare.com...")
		if max, _ := strconv.Atoi(os.Getenv("STANDIN_MAX_DELAY_MS")); max > 0 {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(max)))
			time.Sleep(time.Duration(n.Int64()) * time.Millisecond)
		}
		if os.Getenv("STANDIN_FAIL_QUICK") == "1" {
			cfLog("ERR", `failed to request quick Tunnel error="Post \"https://api.trycloudflare.com/tunnel\": dial tcp: lookup api.trycloudflare.com: no such host"`)
			return 1
		}
		var b [6]byte
		rand.Read(b[:])
		hostname = "standin-" + hex.EncodeToString(b[:]) + ".trycloudflare.com"
		cfLog("INF", "+--------------------------------------------------------------------------------------------+")
		cfLog("INF", "|  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |")
		cfLog("INF", "|  https://%s  |", hostname)
		cfLog("INF", "+--------------------------------------------------------------------------------------------+")
		mux.HandleFunc("/quicktunnel", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"hostname":"%s"}`, hostname)
		})
	}
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":200,"readyConnections":1,"connectorId":"7f1a3b52-0c1d-4e2f-9a8b-1c2d3e4f5a6b"}`)
	})
	mux.HandleFunc("/healthcheck", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "OK\n") })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP cloudflared_tunnel_ha_connections Number of active ha connections\n# TYPE cloudflared_tunnel_ha_connections gauge\ncloudflared_tunnel_ha_connections 1\n")
	})
	l, err := net.Listen("tcp", rec.Metrics)
	if err != nil {
		cfLog("ERR", "failed to bind to address (%s): %v", rec.Metrics, err)
		return 1
	}
	go http.Serve(l, mux)
	cfLog("INF", "Starting metrics server on %s/metrics", l.Addr())
	rec.Hostname = hostname
	if dir := os.Getenv("STANDIN_DIR"); dir != "" {
		name := hostname
		if name == "" {
			name = "named-" + strconv.Itoa(os.Getpid())
		}
		b, _ := json.Marshal(rec)
		os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644)
	}
	proto := rec.Protocol
	if proto == "" {
		proto = "quic"
	}
	cfLog("INF", "Registered tunnel connection connIndex=0 connection=1c2d3e4f event=0 ip=198.41.192.7 location=ams01 protocol=%s", proto)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	cfLog("INF", "Initiating graceful shutdown due to signal %s ...", s)
	return 0
}

package links

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gpudesk/runtime/services/portal/registry"
)

func env(kv map[string]string) Env {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestDirect(t *testing.T) {
	reg := registry.Registration{PublicPort: 8188, ListenPort: 18188, Name: "ComfyUI"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		reg  registry.Registration
		host string
		want string
	}{
		{"browser host by default", nil, reg, "192.168.1.5", "http://192.168.1.5:8188/"},
		{"no host", nil, reg, "", "http://localhost:8188/"},
		{"DIRECT_ADDRESS", map[string]string{"DIRECT_ADDRESS": "box.lan"}, reg, "1.2.3.4", "http://box.lan:8188/"},
		{"DIRECT_ADDRESS=false", map[string]string{"DIRECT_ADDRESS": "false"}, reg, "h", ""},
		{"ipv6 host", nil, reg, "::1", "http://[::1]:8188/"},
		{"preset in the registration", nil, registry.Registration{PublicPort: 1, ListenPort: 2, URL: "https://x.example/"}, "h", "https://x.example/"},
		{"<SVC>_URL", map[string]string{"COMFYUI_URL": "https://comfy.example/"}, reg, "h", "https://comfy.example/"},
		{"bad <SVC>_URL ignored", map[string]string{"COMFYUI_URL": "javascript:alert(1)"}, reg, "h", "http://h:8188/"},
		{"runpod tcp", map[string]string{"RUNPOD_PUBLIC_IP": "5.6.7.8", "RUNPOD_TCP_PORT_8188": "40001"}, reg, "h", "http://5.6.7.8:40001/"},
		{"runpod proxy", map[string]string{"RUNPOD_POD_ID": "abc123"}, reg, "h", "https://abc123-8188.proxy.runpod.net/"},
		{"vast without the port mapped falls back to the quick tunnel", map[string]string{"VAST_TCP_PORT_22": "40022"}, reg, "h", ""},
		{"wan without an answer yet", map[string]string{"DIRECT_ADDRESS_GET_WAN": "true"}, reg, "h", ""},
		{"service path", nil, registry.Registration{PublicPort: 8888, ListenPort: 18888, Name: "Jupyter", Path: "/lab/tree"}, "h", "http://h:8888/lab/tree"},
		{"service path and a preset", map[string]string{"JUPYTER_URL": "https://j.example/x"}, registry.Registration{PublicPort: 8888, ListenPort: 18888, Name: "Jupyter", Path: "/lab"}, "h", "https://j.example/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResolver(env(tc.env), "http")
			r.Environ = func() []string {
				var l []string
				for k, v := range tc.env {
					l = append(l, k+"="+v)
				}
				return l
			}
			if got := r.For(tc.reg, tc.host).Direct; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTunnels asks recorded answers of cloudflared's metrics servers.
func TestTunnels(t *testing.T) {
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quicktunnel" {
			w.Write([]byte(`{"hostname":"seasonal-deck-organisms-sf.trycloudflare.com"}`))
		}
	}))
	defer quick.Close()
	named := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"version":3,"config":{"ingress":[
			{"hostname":"comfy.example.com","service":"http://localhost:8188"},
			{"hostname":"<script>.example.com","service":"http://localhost:7000"},
			{"service":"http_status:404"}]}}`))
	}))
	defer named.Close()
	_, qport, _ := net.SplitHostPort(quick.Listener.Addr().String())
	mp, _ := strconv.Atoi(qport)
	r := NewResolver(env(nil), "http")
	r.NamedMetrics = named.Listener.Addr().String()
	regs := []registry.Registration{{PublicPort: 8188, ListenPort: 18188, MetricsPort: mp}, {PublicPort: 7000, ListenPort: 17000}}
	r.SetRegistrations(regs)
	r.refresh(context.Background())
	if l := r.For(regs[0], "h"); l.Quick != "https://seasonal-deck-organisms-sf.trycloudflare.com/" || l.Named != "https://comfy.example.com/" {
		t.Fatalf("8188: %+v", l)
	}
	if l := r.For(regs[1], "h"); l.Named != "" || l.Quick != "" {
		t.Fatalf("7000: %+v", l)
	}
}

func TestExternalIP(t *testing.T) {
	trace := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("fl=1\nh=1.1.1.1\nip=203.0.113.9\nts=1\n"))
	}))
	defer trace.Close()
	r := NewResolver(env(map[string]string{"DIRECT_ADDRESS_GET_WAN": "true"}), "https")
	r.IPURL = trace.URL
	reg := registry.Registration{PublicPort: 1111, ListenPort: 11111}
	r.SetRegistrations([]registry.Registration{reg})
	r.refresh(context.Background())
	if got := r.For(reg, "h").Direct; got != "https://203.0.113.9:1111/" {
		t.Fatalf("got %q", got)
	}
}

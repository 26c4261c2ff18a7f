package tunnels

import (
	"strings"
	"testing"
)

func TestParseRegistration(t *testing.T) {
	for _, c := range []struct {
		name, file, body string
		want             Registration
		err              string
	}{
		{"aidock strings", "8188", `{"listen_port":"18188","metrics_port":"28188","proxy_port":"8188","service_name":"ComfyUI","service_url":""}`,
			Registration{Port: 8188, ServiceName: "ComfyUI", MetricsPort: 28188, QuickTunnel: true}, ""},
		{"numbers, no metrics", "1111", `{"proxy_port":1111,"service_name":"Portal"}`, Registration{Port: 1111, ServiceName: "Portal", QuickTunnel: true}, ""},
		{"opt out", "9000", `{"quick_tunnel":false}`, Registration{Port: 9000}, ""},
		{"opt out string", "9000", `{"quick_tunnel":"false"}`, Registration{Port: 9000}, ""},
		{"bad name", "comfy", `{}`, Registration{}, `registration file name "comfy" is not a port`},
		{"port 0", "0", `{}`, Registration{}, "is not a port"},
		{"other port", "8188", `{"proxy_port":"1111"}`, Registration{}, "proxy_port 1111 differs from the file name 8188"},
		{"metrics on itself", "8188", `{"metrics_port":"8188"}`, Registration{}, "metrics_port 8188 is the service's own port"},
		{"bad metrics", "8188", `{"metrics_port":"x"}`, Registration{}, "metrics_port x: not a port"},
		{"half written", "8188", `{"proxy_port":"81`, Registration{}, "not a JSON object"},
		{"array", "8188", `[]`, Registration{}, "not a JSON object"},
		{"bad toggle", "8188", `{"quick_tunnel":"maybe"}`, Registration{}, `quick_tunnel "maybe": use true or false`},
		{"control characters", "8188", "{\"service_name\":\"a\\u001b[31mb\\n\"}", Registration{Port: 8188, ServiceName: "a[31mb", QuickTunnel: true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRegistration(c.file, []byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v; want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func FuzzParseRegistration(f *testing.F) {
	f.Add("8188", []byte(`{"listen_port":"18188","metrics_port":"28188","proxy_port":"8188","service_name":"ComfyUI"}`))
	f.Add("1", []byte(`{"quick_tunnel":true,"proxy_port":1}`))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		r, err := ParseRegistration(name, b)
		if err != nil {
			return
		}
		if r.Port < 1 || r.Port > 65535 || r.MetricsPort < 0 || r.MetricsPort > 65535 || r.MetricsPort == r.Port || len(r.ServiceName) > 200 {
			t.Fatalf("accepted %+v", r)
		}
	})
}

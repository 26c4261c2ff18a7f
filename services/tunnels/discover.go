package tunnels

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Discovery bounds how long a new cloudflared is asked what it is: its
// metrics server exists only once the tunnel is registered (a quick
// tunnel's hostname comes first, from trycloudflare.com), so the first
// attempts are refused.
type Discovery struct {
	Interval time.Duration // first pause between attempts, doubling up to 2 s
	Limit    time.Duration // then give up (the tunnel keeps running)
}

// DefaultDiscovery gives cloudflared two minutes.
var DefaultDiscovery = Discovery{Interval: 250 * time.Millisecond, Limit: 2 * time.Minute}

var metricsClient = &http.Client{Timeout: 5 * time.Second}

// poll calls try until it reports done, with growing pauses, for at most
// d.Limit; the error says what the last attempt saw.
func (d Discovery) poll(ctx context.Context, what string, try func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, d.Limit)
	defer cancel()
	pause := d.Interval
	var last error
	for {
		done, err := try(ctx)
		if done {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last == nil {
				last = fmt.Errorf("no answer")
			}
			return fmt.Errorf("%s: nothing within %v (last: %v)", what, d.Limit, last)
		case <-time.After(pause):
		}
		if pause *= 2; pause > 2*time.Second {
			pause = 2 * time.Second
		}
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// quickURL asks cloudflared's /quicktunnel ({"hostname":"x.trycloudflare.com"})
// for the tunnel's hostname.
func (d Discovery) quickURL(ctx context.Context, metrics string, st Status) (Status, error) {
	url := "http://" + metrics + "/quicktunnel"
	err := d.poll(ctx, "reading the quick tunnel's hostname from "+url, func(ctx context.Context) (bool, error) {
		var v struct {
			Hostname string `json:"hostname"`
		}
		if err := getJSON(ctx, url, &v); err != nil {
			return false, err
		}
		h := strings.TrimPrefix(strings.TrimSpace(v.Hostname), "https://")
		if h == "" || strings.ContainsAny(h, "/ \"'<>") {
			return false, fmt.Errorf("hostname %q", v.Hostname)
		}
		st.URL = "https://" + h
		return true, nil
	})
	return st, err
}

// namedHostnames asks cloudflared's /config (the ingress rules the
// tunnel got from Cloudflare) for its public hostnames.
func (d Discovery) namedHostnames(ctx context.Context, metrics string, st Status) (Status, error) {
	url := "http://" + metrics + "/config"
	err := d.poll(ctx, "reading the tunnel's hostnames from "+url, func(ctx context.Context) (bool, error) {
		var v struct {
			Config struct {
				Ingress []struct {
					Hostname string `json:"hostname"`
				} `json:"ingress"`
			} `json:"config"`
		}
		if err := getJSON(ctx, url, &v); err != nil {
			return false, err
		}
		var hs []string
		for _, r := range v.Config.Ingress {
			if h := clean(strings.TrimSpace(r.Hostname), 253); h != "" {
				hs = append(hs, h)
			}
		}
		if len(hs) == 0 {
			return false, fmt.Errorf("no ingress rule with a hostname yet")
		}
		st.Hostnames = hs
		return true, nil
	})
	return st, err
}

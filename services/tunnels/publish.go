package tunnels

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Status is what /run/tunnels/<name>.json holds: <port>.json for a quick
// tunnel, named.json for the named tunnel. The file is replaced
// atomically (written aside, then renamed), so a reader never sees half
// of one; it is removed when the tunnel is stopped for good.
type Status struct {
	Kind        string   `json:"kind"`                   // "quick" or "named"
	Port        int      `json:"port,omitempty"`         // quick: the service's public port
	ServiceName string   `json:"service_name,omitempty"` // quick: from the registration
	Target      string   `json:"target,omitempty"`       // quick: where the tunnel leads (Caddy's port)
	URL         string   `json:"url,omitempty"`          // quick: https://….trycloudflare.com once known
	Hostnames   []string `json:"hostnames,omitempty"`    // named: the public hostnames of its ingress rules
	State       string   `json:"state"`                  // starting, running, backoff
	Error       string   `json:"error,omitempty"`        // the last problem, in words
	PID         int      `json:"pid,omitempty"`          // cloudflared's pid while it runs
	Metrics     string   `json:"metrics,omitempty"`      // cloudflared's metrics address
	RetryAt     string   `json:"retry_at,omitempty"`     // backoff: when cloudflared is started again (RFC 3339)
	Updated     string   `json:"updated"`                // RFC 3339
}

// States of a tunnel.
const (
	StateStarting = "starting" // cloudflared runs, no URL yet
	StateRunning  = "running"  // the URL (or the hostnames) is known
	StateBackoff  = "backoff"  // cloudflared exited; it is started again at RetryAt
)

// publisher writes status files into one folder.
type publisher struct{ dir string }

func (p publisher) write(name string, s Status) error {
	s.Updated = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(p.dir, name+".json")
	tmp, err := os.CreateTemp(p.dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("publishing tunnel %s: %w", name, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		// Readable by the portal, which runs as another user.
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("publishing tunnel %s in %s: %w", name, path, werr)
	}
	return nil
}

func (p publisher) remove(name string) {
	os.Remove(filepath.Join(p.dir, name+".json"))
}

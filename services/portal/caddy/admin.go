package caddy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// Admin talks to Caddy's admin API on a unix socket.
type Admin struct {
	Socket string
	hc     *http.Client
}

// NewAdmin returns a client of the admin API at socket.
func NewAdmin(socket string) *Admin {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	return &Admin{Socket: socket, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// RefusedError is Caddy answering that it cannot use a configuration (as
// opposed to not answering at all).
type RefusedError struct {
	Status int
	Msg    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("caddy refused the configuration (%d): %s", e.Status, e.Msg)
}

func (a *Admin) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://caddy-admin"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Host = "" // Caddy checks the Host of admin requests; a unix socket has none
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("caddy admin API at %s: %w", a.Socket, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &RefusedError{Status: resp.StatusCode, Msg: msg}
	}
	return b, nil
}

// Load replaces Caddy's whole configuration (POST /load).
func (a *Admin) Load(ctx context.Context, cfg []byte) error {
	_, err := a.do(ctx, http.MethodPost, "/load", cfg)
	return err
}

// Config returns Caddy's current configuration (GET /config/).
func (a *Admin) Config(ctx context.Context) ([]byte, error) {
	return a.do(ctx, http.MethodGet, "/config/", nil)
}

// Has reports whether Caddy runs cfg now. Caddy keeps the JSON it was
// given, so comparing the decoded values tells a Caddy that restarted
// with its base configuration from one that has ours.
func (a *Admin) Has(ctx context.Context, cfg []byte) (bool, error) {
	cur, err := a.Config(ctx)
	if err != nil {
		return false, err
	}
	var x, y any
	if err := json.Unmarshal(cur, &x); err != nil {
		return false, fmt.Errorf("caddy admin API: decoding its configuration: %w", err)
	}
	if err := json.Unmarshal(cfg, &y); err != nil {
		return false, err
	}
	return reflect.DeepEqual(x, y), nil
}

// IsRefused says err is Caddy refusing a configuration.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

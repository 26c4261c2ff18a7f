package caddy

import (
	"bufio"
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
	Socket  string
	Timeout time.Duration
}

// NewAdmin returns a client of the admin API at socket.
func NewAdmin(socket string) *Admin {
	return &Admin{Socket: socket, Timeout: 30 * time.Second}
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

// do sends one request. It is written by hand because Caddy checks the
// Host of admin requests and, on a unix socket, accepts only an empty one,
// which net/http's client cannot send.
func (a *Admin) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", a.Socket)
	if err != nil {
		return nil, fmt.Errorf("caddy admin API: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: \r\nConnection: close\r\nContent-Length: %d\r\n", method, path, len(body))
	if body != nil {
		req.WriteString("Content-Type: application/json\r\n")
	}
	req.WriteString("\r\n")
	req.Write(body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, fmt.Errorf("caddy admin API at %s: %w", a.Socket, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("caddy admin API at %s: %w", a.Socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("caddy admin API at %s: %w", a.Socket, err)
	}
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

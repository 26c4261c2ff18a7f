package ready

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// Options are what a run needs from outside: the environment, folder and
// process starter of exec checks.
type Options struct {
	// Env is an exec check's environment (PATH in it finds the command).
	Env []string
	// Dir is an exec check's working folder ("" for the caller's).
	Dir string
	// Start starts an exec check's process; nil starts it with
	// syscall.ForkExec and reaps it with wait4 (see Starter).
	Start Starter
}

// Run runs the check once. It returns nil when the check passes, or why it
// did not. It returns when ctx ends at the latest (an exec check's process
// group is killed then); the caller bounds ctx with the check's timeout.
func (c Check) Run(ctx context.Context, o Options) error {
	switch c.Kind {
	case TCP:
		return dialTCP(ctx, c.Target)
	case Unix:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", c.Target)
		if err != nil {
			return err
		}
		return conn.Close()
	case HTTP:
		return c.get(ctx)
	case File:
		_, err := os.Stat(c.Target)
		return err
	case Absent:
		_, err := os.Lstat(c.Target)
		switch {
		case err == nil:
			return fmt.Errorf("%s exists", c.Target)
		case errors.Is(err, os.ErrNotExist):
			return nil
		}
		return err
	case Exec:
		return c.exec(ctx, o)
	}
	return fmt.Errorf("unknown check kind %d", c.Kind)
}

// httpClient serves every http check. Each check opens its own connection
// (no keep-alive: an idle connection per program would hold a descriptor
// for nothing), does not follow redirects (a 3xx is an answer), and does
// not verify certificates: the check asks whether the server answers, and
// local services often have self-signed ones.
var httpClient = &http.Client{
	Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		Proxy:             nil,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (c Check) get(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "supervisord-ready-check")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", c.Target, resp.Status)
	}
	return nil
}

// Package script fetches the user's provisioning script (PROVISIONING_SCRIPT,
// or a file mounted at /opt/ai-dock/bin/provisioning.sh), makes it
// runnable (CRLF, BOM, #!/bin/false) and runs it as the user, with its
// output in /var/log/provisioning.log.
package script

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FetchOptions bound a fetch. Zero values take the defaults.
type FetchOptions struct {
	MaxBytes     int64         // default 8 MiB
	Attempts     int           // default 5
	Backoff      time.Duration // first pause between attempts, doubled each time (default 2 s)
	StallTimeout time.Duration // no byte for this long fails the attempt (default 30 s)
	SHA256       string        // PROVISIONING_SCRIPT_SHA256: hex digest the bytes must have
	Progress     time.Duration // at most one progress line this often (default 5 s)
	Log          func(string)
	Client       *http.Client // default: 10 s connect and TLS, 30 s to the headers, 10 redirects
}

func (o *FetchOptions) defaults() {
	if o.MaxBytes == 0 {
		o.MaxBytes = 8 << 20
	}
	if o.Attempts == 0 {
		o.Attempts = 5
	}
	if o.Backoff == 0 {
		o.Backoff = 2 * time.Second
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 30 * time.Second
	}
	if o.Progress == 0 {
		o.Progress = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Client == nil {
		o.Client = DefaultClient()
	}
}

// MaxRedirects bounds the redirects a fetch follows.
const MaxRedirects = 10

// DefaultClient is the HTTP client of a fetch.
func DefaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return errRedirects
		}
		return nil
	}}
}

var errRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// permanent marks errors a retry cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Redact returns the URL without its query, fragment and user info, which
// may hold a token: the form every message uses.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Fetch downloads the script at raw, retrying what may pass (network
// errors, 5xx, 408, 429) with doubling pauses, and refusing what will not
// (other statuses, HTML pages, a size over the cap, a wrong checksum).
func Fetch(ctx context.Context, raw string, o FetchOptions) ([]byte, error) {
	o.defaults()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("PROVISIONING_SCRIPT is not an http:// or https:// URL")
	}
	name := Redact(raw)
	pause := o.Backoff
	var last error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		body, err := fetchOnce(ctx, raw, name, o)
		if err == nil {
			return body, nil
		}
		last = err
		var p permanent
		if errors.As(err, &p) || ctx.Err() != nil {
			return nil, err
		}
		if attempt < o.Attempts {
			o.Log(fmt.Sprintf("fetch attempt %d of %d failed: %v; again in %s", attempt, o.Attempts, err, pause))
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil, fmt.Errorf("fetching %s: %w", name, context.Cause(ctx))
			}
			pause *= 2
		}
	}
	return nil, fmt.Errorf("%w (gave up after %d attempts)", last, o.Attempts)
}

func fetchOnce(ctx context.Context, raw, name string, o FetchOptions) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, permanent{fmt.Errorf("PROVISIONING_SCRIPT: %v", err)}
	}
	req.Header.Set("Accept", "text/plain, text/x-shellscript, application/octet-stream;q=0.9, */*;q=0.1")
	resp, err := o.Client.Do(req)
	if err != nil {
		if errors.Is(err, errRedirects) {
			return nil, permanent{fmt.Errorf("fetching %s: %w", name, errRedirects)}
		}
		return nil, fmt.Errorf("fetching %s: %w", name, stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("fetching %s: HTTP %s", name, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == 408 || resp.StatusCode == 429 {
			return nil, err
		}
		return nil, permanent{err}
	}
	if ct := strings.ToLower(resp.Header.Get("Content-Type")); strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/xhtml") {
		return nil, permanent{fmt.Errorf("fetching %s: the server sent an HTML page (%s), not a script; use the raw file's URL", name, ct)}
	}
	// A stalled body fails the attempt: each read must bring bytes
	// within StallTimeout.
	stall := time.AfterFunc(o.StallTimeout, func() { cancel(fmt.Errorf("no data for %s", o.StallTimeout)) })
	defer stall.Stop()
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	lastProgress := time.Now()
	for {
		n, err := resp.Body.Read(chunk)
		if n > 0 {
			stall.Reset(o.StallTimeout)
			buf.Write(chunk[:n])
			if int64(buf.Len()) > o.MaxBytes {
				return nil, permanent{fmt.Errorf("fetching %s: larger than %d bytes; not a provisioning script", name, o.MaxBytes)}
			}
			if time.Since(lastProgress) >= o.Progress {
				lastProgress = time.Now()
				o.Log(fmt.Sprintf("downloading %s: %d KiB", name, buf.Len()>>10))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
				return nil, fmt.Errorf("fetching %s: %v", name, c)
			}
			return nil, fmt.Errorf("fetching %s: %w", name, stripURL(err))
		}
	}
	body := buf.Bytes()
	if LooksLikeHTML(body) {
		return nil, permanent{fmt.Errorf("fetching %s: the content is an HTML page, not a script; use the raw file's URL", name)}
	}
	if o.SHA256 != "" {
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, strings.TrimSpace(o.SHA256)) {
			return nil, permanent{fmt.Errorf("fetching %s: SHA-256 is %s, PROVISIONING_SCRIPT_SHA256 wants %s; not run", name, got, strings.TrimSpace(o.SHA256))}
		}
	}
	return body, nil
}

// stripURL drops the URL (with its query) from *url.Error messages.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// LooksLikeHTML reports whether b starts (after a BOM and blanks) like an
// HTML document.
func LooksLikeHTML(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 64 {
		b = b[:64]
	}
	l := bytes.ToLower(b)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html")) || bytes.HasPrefix(l, []byte("<head")) || bytes.HasPrefix(l, []byte("<!--"))
}

// Prepare makes a fetched or mounted script runnable: the BOM is dropped,
// CRLF becomes LF, and a first line #!/bin/false (ai-dock's placeholder,
// so that the file is not run by mistake) becomes #!/bin/bash. hasShebang
// says whether the file names its interpreter; without one it is run
// with bash.
func Prepare(b []byte) (out []byte, hasShebang bool) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if rest, ok := bytes.CutPrefix(b, []byte("#!/bin/false")); ok && (len(rest) == 0 || rest[0] == '\n' || rest[0] == ' ') {
		b = append([]byte("#!/bin/bash"), rest...)
	}
	return b, bytes.HasPrefix(b, []byte("#!"))
}

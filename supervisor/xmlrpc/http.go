package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HandlerFunc serves one decoded call. It returns the result, a *Fault
// (possibly wrapped) to answer with a fault, or any other error for a 500.
type HandlerFunc func(ctx context.Context, method string, params []any) (any, error)

// Handler serves XML-RPC over HTTP on whatever path it is mounted at:
//
//   - any method but POST: 405 with "Allow: POST";
//   - a body over lim.MaxBytes (by Content-Length, or once that many bytes
//     have streamed in): 413, having read at most lim.MaxBytes+1 bytes;
//   - a body that is not a valid <methodCall>: 400 with a text/plain reason
//     (Python supervisor also answers 400, with an HTML page);
//   - otherwise fn's result as text/xml, a *Fault from fn as a fault
//     response, any other error from fn (or a result that cannot be
//     encoded) as 500 with the error text.
//
// A gzip Content-Encoding (which Python's ServerProxy sends when its
// transport has an encode_threshold) is accepted, the limits applying to
// both the compressed and the decompressed bytes.
func Handler(fn HandlerFunc, lim Limits) http.Handler {
	return &handler{fn: fn, lim: lim.norm()}
}

type handler struct {
	fn  HandlerFunc
	lim Limits
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC requires POST", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > h.lim.MaxBytes {
		http.Error(w, ErrTooLarge.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var body io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		raw := &limitReader{r: r.Body, left: h.lim.MaxBytes}
		zr, err := gzip.NewReader(raw)
		if err != nil {
			if raw.exceeded {
				http.Error(w, ErrTooLarge.Error(), http.StatusRequestEntityTooLarge)
			} else {
				http.Error(w, "xmlrpc: bad gzip body: "+err.Error(), http.StatusBadRequest)
			}
			return
		}
		body = zr
	default:
		http.Error(w, "unsupported Content-Encoding "+strconv.Quote(enc), http.StatusUnsupportedMediaType)
		return
	}
	method, params, err := DecodeCall(body, h.lim)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
		return
	}
	res, err := h.fn(r.Context(), method, params)
	var out bytes.Buffer
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) || f == nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		err = EncodeFault(&out, f)
	} else {
		err = EncodeResponse(&out, res)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("cannot encode the response to %s: %v", method, err), http.StatusInternalServerError)
		return
	}
	// A peer that does not read its answer holds the connection for
	// answerWriteTimeout at most.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerWriteTimeout))
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

// answerWriteTimeout bounds writing one answer to a peer.
const answerWriteTimeout = 60 * time.Second

// HTTPError is a non-200 answer to a Call.
type HTTPError struct {
	StatusCode int
	Status     string // as http.Response.Status: "401 Unauthorized"
}

func (e *HTTPError) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("xmlrpc: HTTP status %d", e.StatusCode)
	}
	return "xmlrpc: HTTP status " + e.Status
}

// Client calls an XML-RPC server the way Python supervisor's
// SupervisorTransport does: POSTs to /RPC2 on an "http://host:port" URL (any
// path in the URL is ignored, as Python does) or on a unix socket given as
// "unix:///path/to.sock", with Basic auth when a username is set, over
// kept-alive connections. It never uses an HTTP proxy. Responses are
// decoded as they stream in, within ResponseLimits as they stand at the
// time of the call (not DefaultLimits, the servers' request cap: answers
// such as getAllConfigInfo of thousands of programs or a long log tail
// are legitimately large). Safe for concurrent use.
type Client struct {
	base       *url.URL // scheme and host of every request
	hc         *http.Client
	user, pass string
}

// NewClient returns a Client for serverURL ("http://", "https://" or
// "unix://"). A non-empty username turns on Basic auth.
func NewClient(serverURL, username, password string) (*Client, error) {
	tr := &http.Transport{
		Proxy:                 nil,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &Client{hc: &http.Client{Transport: tr}, user: username, pass: password}
	lower := strings.ToLower(serverURL)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(serverURL)
		if err != nil {
			return nil, fmt.Errorf("xmlrpc: bad server URL %q: %v", serverURL, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("xmlrpc: server URL %q has no host", serverURL)
		}
		c.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		tr.DialContext = d.DialContext
	case strings.HasPrefix(lower, "unix://"):
		path := serverURL[len("unix://"):]
		if path == "" {
			return nil, fmt.Errorf("xmlrpc: server URL %q has no socket path", serverURL)
		}
		c.base = &url.URL{Scheme: "http", Host: "localhost"}
		d := &net.Dialer{Timeout: 30 * time.Second}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
	default:
		return nil, fmt.Errorf("xmlrpc: unknown protocol for server URL %q (want http:// or unix://)", serverURL)
	}
	return c, nil
}

// Close closes the client's idle kept-alive connections (a call made
// later opens a new one).
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("xmlrpc: bad path %q: %v", path, err)
	}
	u := *c.base
	u.Path, u.RawPath, u.RawQuery = ref.Path, ref.RawPath, ref.RawQuery
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "gpudesk-xmlrpc")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	return req, nil
}

// Call calls method with params and returns its result. A fault comes
// back as a *Fault error, a status other than 200 as an *HTTPError, a
// malformed response as a *DecodeError.
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	var body bytes.Buffer
	if err := EncodeCall(&body, method, params...); err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/RPC2", bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "text/xml")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Drain a little so that the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	return DecodeResponse(resp.Body, ResponseLimits)
}

// Get sends a GET for path (such as "/logtail/name/stdout") with the same
// transport and auth as Call, and returns the response whatever its status;
// the caller reads and closes its Body.
func (c *Client) Get(ctx context.Context, path string) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return c.hc.Do(req)
}

package xmlrpc

import (
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// ServerOptions bound what one peer can hold on an HTTP server.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body.
	// net/http lifts it once the body is read, so a call that then waits
	// for processes, or a log stream, is not cut by it.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxConns is how many connections are served at once; further ones
	// wait in the listen backlog, costing no file descriptor, until one
	// closes. 0: no limit.
	MaxConns int
	// Logf reports a recovered panic and a server reaching MaxConns.
	Logf func(format string, args ...any)
}

// DefaultServerOptions are the timeouts of supervisord's HTTP servers.
var DefaultServerOptions = ServerOptions{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       60 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxConns:          128,
}

// NewServer returns an http.Server for h with o's timeouts, recovering
// any panic of h as a 500 (see Recover). Serve it on Listen(ln, o).
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	return &http.Server{
		Handler:           Recover(h, o.Logf),
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
	}
}

// Listen wraps ln for NewServer's server: at most o.MaxConns connections
// at once (logged through o.Logf when reached, at most once a minute), and
// HTTP/1.1 requests without a Host header given one (see TolerateNoHost).
func Listen(ln net.Listener, name string, o ServerOptions) net.Listener {
	ln = TolerateNoHost(ln)
	if o.MaxConns > 0 {
		ln = LimitListener(ln, o.MaxConns, func() {
			if o.Logf != nil {
				o.Logf("HTTP server '%s' has reached its limit of %d connections: new connections wait until one closes", name, o.MaxConns)
			}
		})
	}
	return ln
}

// Recover answers a panic of h with a 500 and reports it, with its stack,
// through logf (when not nil), instead of letting net/http drop the
// connection without an answer. http.ErrAbortHandler still aborts.
func Recover(h http.Handler, logf func(format string, args ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if logf != nil {
				logf("HTTP handler panicked serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			}
			// If the handler had already begun its answer this only
			// ends it; the connection is closed either way.
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("internal error: %v", v), http.StatusInternalServerError)
		}()
		h.ServeHTTP(w, r)
	})
}

// LimitListener returns a listener that has at most n accepted
// connections open at once: Accept waits for one to close first, calling
// full (when not nil, at most once a minute) when it has to.
func LimitListener(ln net.Listener, n int, full func()) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{}), full: full}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	full      func()
	lastFull  time.Time // only Accept's goroutine uses it
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		if l.full != nil && time.Since(l.lastFull) >= time.Minute {
			l.lastFull = time.Now()
			l.full()
		}
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

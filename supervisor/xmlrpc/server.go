package xmlrpc

import (
	"context"
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

// Server is an HTTP server with ServerOptions' bounds, that recovers any
// panic of its handler as a 500 (see Recover) and answers HTTP/1.1
// requests without a Host header (see TolerateNoHost).
type Server struct {
	srv  *http.Server
	name string
	o    ServerOptions
	idle idleConns
	// stopping is closed when Shutdown begins; requests find it with
	// Stopping, so that streams (tail -f) end instead of holding it up.
	stopping chan struct{}
	stopOnce sync.Once
}

type stoppingKey struct{}

// Stopping returns a channel that is closed once the Server serving the
// request behind ctx begins to shut down (nil, which never closes, for a
// request it does not serve). Handlers that stream until the client goes
// away also end then.
func Stopping(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(chan struct{})
	return ch
}

// NewServer returns a Server for h; name is how its log lines call it.
func NewServer(h http.Handler, name string, o ServerOptions) *Server {
	s := &Server{name: name, o: o, idle: idleConns{m: map[net.Conn]struct{}{}}}
	s.stopping = make(chan struct{})
	base := context.WithValue(context.Background(), stoppingKey{}, s.stopping)
	s.srv = &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           Recover(h, o.Logf),
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		ConnState:         s.idle.track,
	}
	return s
}

// Serve serves ln until Close. At MaxConns connections it closes the
// idle kept-alive ones (clients reconnect) and logs, at most once a
// minute, that it has reached its limit.
func (s *Server) Serve(ln net.Listener) error {
	ln = TolerateNoHost(ln)
	if s.o.MaxConns > 0 {
		var last time.Time // only the accepting goroutine uses it
		ln = LimitListener(ln, s.o.MaxConns, func() {
			s.idle.closeAll()
			if s.o.Logf != nil && time.Since(last) >= time.Minute {
				last = time.Now()
				s.o.Logf("HTTP server '%s' has reached its limit of %d connections: new connections wait until one closes", s.name, s.o.MaxConns)
			}
		})
	}
	return s.srv.Serve(ln)
}

// Close closes the listener and every connection.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops listening, lets the requests under way finish and send
// their answers until ctx ends, then closes every connection that is left.
// Streams such as tail -f, which never finish on their own, learn of it
// through Stopping.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// idleConns are the kept-alive connections waiting for a request.
type idleConns struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (ic *idleConns) track(c net.Conn, state http.ConnState) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if state == http.StateIdle {
		ic.m[c] = struct{}{}
	} else {
		delete(ic.m, c)
	}
}

func (ic *idleConns) closeAll() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	for c := range ic.m {
		c.Close()
		delete(ic.m, c)
	}
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
// full (when not nil) each time it has to.
func LimitListener(ln net.Listener, n int, full func()) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{}), full: full}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	full      func()
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		if l.full != nil {
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

package daemon

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// errAddrInUse is Python's message when a server's address is taken.
var errAddrInUse = errors.New("Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.")

// server is one listening HTTP server.
type server struct {
	name string
	ln   net.Listener
	srv  *xmlrpc.Server
	path string        // unix socket file to remove at exit
	done chan struct{} // closed when Serve has returned
}

// openServers listens on every [unix_http_server] and [inet_http_server]
// and serves handler behind each section's authentication.
func (d *Daemon) openServers() error {
	if d.opts.Handler == nil {
		return nil
	}
	var opened []*server
	fail := func(err error) error {
		for _, s := range opened {
			s.ln.Close()
			if s.path != "" {
				os.Remove(s.path)
			}
		}
		return err
	}
	h := d.opts.Handler(d)
	for _, c := range d.cfg.InetServers {
		if !c.HasAuth && !isLoopback(c.Host) && !c.AllowUnauthenticated {
			host := c.Host
			if host == "" || host == "0.0.0.0" || host == "::" || host == "[::]" {
				host = "every interface"
			}
			return fail(fmt.Errorf("[%s] port=%s:%d would let anyone who can reach %s control every process: set username and password in [%s], bind it to 127.0.0.1, or set allow_unauthenticated=true to accept the risk",
				c.Section, c.Host, c.Port, host, c.Section))
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fail(errAddrInUse)
			}
			return fail(fmt.Errorf("[%s] listening on %s:%d: %w", c.Section, c.Host, c.Port, err))
		}
		opened = append(opened, d.serve(c.Section, ln, "", c.HasAuth && c.Username != "", c.Username, c.Password, h))
	}
	for _, c := range d.cfg.UnixServers {
		if conn, err := net.DialTimeout("unix", c.File, time.Second); err == nil {
			conn.Close()
			return fail(errAddrInUse)
		}
		os.Remove(c.File) // a stale socket from an earlier run
		ln, err := net.Listen("unix", c.File)
		if err != nil {
			return fail(fmt.Errorf("[%s] listening on %s: %w", c.Section, c.File, err))
		}
		if err := os.Chmod(c.File, os.FileMode(c.Chmod)); err != nil {
			ln.Close()
			return fail(fmt.Errorf("Could not change permissions of socket file: %w", err))
		}
		if c.ChownUID >= 0 {
			if err := os.Chown(c.File, c.ChownUID, c.ChownGID); err != nil {
				ln.Close()
				return fail(fmt.Errorf("Could not change ownership of socket file: %w", err))
			}
		}
		opened = append(opened, d.serve(c.Section, ln, c.File, c.HasAuth && c.Username != "", c.Username, c.Password, h))
	}
	d.servers = opened
	return nil
}

// serve starts serving one section, logging what Python logs.
func (d *Daemon) serve(section string, ln net.Listener, path string, hasAuth bool, user string, pass config.Password, h http.Handler) *server {
	for _, r := range d.cfg.RPCInterfaces {
		d.log.Log(config.LevelInfo, "RPC interface '%s' initialized", r.Name)
	}
	if hasAuth {
		h = auth(h, user, pass)
	} else {
		d.log.Log(config.LevelCritical, "Server '%s' running without any HTTP authentication checking", section)
	}
	o := d.serverOptions()
	s := &server{name: section, ln: ln, path: path, srv: xmlrpc.NewServer(h, section, o), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s
}

// serverOptions are the HTTP servers' timeouts and connection cap: the
// cap is lowered to a quarter of the file descriptor limit, so that
// clients that connect and then trickle (or never send) their request
// cannot take the descriptors that spawning processes needs.
func (d *Daemon) serverOptions() xmlrpc.ServerOptions {
	o := xmlrpc.DefaultServerOptions
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur/4 < uint64(o.MaxConns) {
		o.MaxConns = max(int(lim.Cur/4), 4)
	}
	o.Logf = func(format string, args ...any) { d.log.Log(config.LevelCritical, format, args...) }
	return o
}

// serverDrain is how long the requests under way at exit or reload may
// take to send their answers (supervisor.shutdown's among them) before
// their connections are closed.
const serverDrain = 5 * time.Second

// closeServers stops listening, lets the answers under way go out, closes
// what is left, waits for each server's goroutine and removes the unix
// sockets.
func (d *Daemon) closeServers() {
	ctx, cancel := context.WithTimeout(context.Background(), d.serverDrainTime(time.Now()))
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.srv.Shutdown(ctx)
			<-s.done
		}()
	}
	wg.Wait()
	for _, s := range d.servers {
		if s.path != "" {
			os.Remove(s.path)
		}
	}
	d.servers = nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// auth wraps h with HTTP Basic authentication; a {SHA} password is
// compared as its SHA-1 hex. Comparisons take constant time.
func auth(h http.Handler, user string, pass config.Password) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok && checkPassword(u, p, user, pass) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="default"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	})
}

func checkPassword(gotUser, gotPass, user string, pass config.Password) bool {
	userOK := subtle.ConstantTimeCompare([]byte(gotUser), []byte(user)) == 1
	want := string(pass)
	got := gotPass
	if pass.Hashed() {
		sum := sha1.Sum([]byte(gotPass))
		got = hex.EncodeToString(sum[:])
		want = strings.ToLower(want[len("{SHA}"):])
	}
	passOK := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	return userOK && passOK
}

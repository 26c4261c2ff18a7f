package xmlrpc

import (
	"bytes"
	"net"
	"strconv"
)

// TolerateNoHost returns a listener whose connections add "Host:
// localhost" to HTTP/1.1 requests that have no Host header. net/http
// answers those 400 (RFC 9112 requires the header) and has no option to
// accept them; Python supervisor answers them, and hand-written health
// checks (printf 'GET / HTTP/1.1\r\n\r\n' | nc) rely on it.
//
// The connection reads each request head whole before passing it on, then
// passes the body through by its Content-Length. Anything it is not sure
// of (a Transfer-Encoding, a bad or repeated Content-Length, a head over
// 1 MiB, a blank first line) makes it pass the rest of the connection
// through untouched, so net/http alone decides what the bytes mean.
func TolerateNoHost(ln net.Listener) net.Listener { return &noHostListener{ln} }

type noHostListener struct{ net.Listener }

func (l *noHostListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &noHostConn{Conn: c}, nil
}

// maxHead is a little over net/http's DefaultMaxHeaderBytes, which
// rejects a longer head anyway.
const maxHead = 1<<20 + 4096

type noHostConn struct {
	net.Conn
	out      []byte // processed, for the server
	in       []byte // read from the peer, not processed yet
	bodyLeft int64  // body bytes of the current request still to pass
	pass     bool   // pass everything through from now on
	scan     int    // how far headEnd has looked into in
}

func (c *noHostConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		switch {
		case c.pass:
			if len(c.in) > 0 {
				c.out, c.in = c.in, nil
				continue
			}
			return c.Conn.Read(p)
		case c.bodyLeft > 0:
			if len(c.in) > 0 {
				k := int(min(int64(len(c.in)), c.bodyLeft))
				c.out, c.in = c.in[:k:k], c.in[k:]
				c.bodyLeft -= int64(k)
				continue
			}
			n, err := c.Conn.Read(p[:min(int64(len(p)), c.bodyLeft)])
			c.bodyLeft -= int64(n)
			return n, err
		}
		if end, ok := c.headEnd(); ok {
			head := c.in[:end:end]
			c.in = c.in[end:]
			c.out = c.fix(head)
			continue
		} else if end < 0 || len(c.in) > maxHead {
			c.pass = true
			continue
		}
		// Keep what came so far: a timeout here is either the server
		// giving up (it closes) or its background read being cut short
		// (it reads again).
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		if err != nil && n == 0 {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// headEnd finds the end of the request head at the start of c.in: the
// byte after its blank line, ok true. A blank first line gives end -1 (not
// a head this code understands); an incomplete head end 0. It resumes
// where the last call stopped, so a head trickled in byte by byte costs
// linear time.
func (c *noHostConn) headEnd() (end int, ok bool) {
	b := c.in
	for {
		i := bytes.IndexByte(b[c.scan:], '\n')
		if i < 0 {
			return 0, false
		}
		line := b[c.scan : c.scan+i]
		first := c.scan == 0
		c.scan += i + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			end := c.scan
			c.scan = 0
			if first {
				return -1, false
			}
			return end, true
		}
	}
}

// fix returns head with a Host header added when it is an HTTP/1.1 (or
// later 1.x) request without one, and sets up the passing of its body.
func (c *noHostConn) fix(head []byte) []byte {
	lines := bytes.SplitAfter(head, []byte("\n"))
	reqLine := bytes.Fields(lines[0])
	hasHost, lengths := false, 0
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "host":
			hasHost = true
		case "transfer-encoding":
			c.pass = true
		case "content-length":
			lengths++
			n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err != nil || n < 0 || lengths > 1 {
				c.pass = true
			}
			c.bodyLeft = n
		}
	}
	if c.pass {
		c.bodyLeft = 0
	}
	if hasHost || len(reqLine) != 3 || !bytes.HasPrefix(reqLine[2], []byte("HTTP/1.")) || string(reqLine[2]) == "HTTP/1.0" {
		return head
	}
	out := make([]byte, 0, len(head)+len("Host: localhost\r\n"))
	out = append(out, lines[0]...)
	out = append(out, "Host: localhost\r\n"...)
	return append(out, head[len(lines[0]):]...)
}

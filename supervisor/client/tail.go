package client

import (
	"context"
	"io"
	"net/http"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// LogTailPath is the HTTP path that streams a process's log
// ("/logtail/name/stdout"), as supervisorctl's tail -f asks for it.
func LogTailPath(name string, s Stream) string {
	return "/logtail/" + name + "/" + string(s)
}

// MainLogTailPath is the HTTP path that streams supervisord's own log.
const MainLogTailPath = "/mainlogtail"

// TailF follows a process's log: it copies what the server streams from
// GET /logtail/name/stream to w until the server ends the stream, cleanly
// or by closing the connection (nil), ctx is done (ctx.Err()) or w fails.
// A failure to connect is returned as it is, a status other than 200 as an
// *xmlrpc.HTTPError.
func (c *Client) TailF(ctx context.Context, name string, s Stream, w io.Writer) error {
	return c.Follow(ctx, LogTailPath(name, s), w)
}

// MainTailF follows supervisord's main log as TailF does.
func (c *Client) MainTailF(ctx context.Context, w io.Writer) error {
	return c.Follow(ctx, MainLogTailPath, w)
}

// Follow copies the body of GET path to w as it arrives, each read written
// at once.
func (c *Client) Follow(ctx context.Context, path string, w io.Writer) error {
	resp, err := c.rpc.Get(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &xmlrpc.HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			// The server ended the stream, cleanly (io.EOF) or not (it
			// shut down): either way the tail is over, as Python's
			// client sees it.
			return nil
		}
	}
}

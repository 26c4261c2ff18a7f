package rpc_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// fuzzConf gives the methods something to act on: a group, a process
// that reads its stdin, one that writes to both logs, one not started.
const fuzzConf = `
[unix_http_server]
file=DIR/sock

[supervisord]
nodaemon=true
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
childlogdir=DIR

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:cat]
command=/bin/cat
startsecs=0
stopwaitsecs=2

[program:talker]
command=/bin/sh -c "while true; do echo out; echo err >&2; sleep 1; done"
startsecs=0
stopwaitsecs=2

[program:manual]
command=/bin/sleep 30
autostart=false
startsecs=0
stopwaitsecs=2

[group:g]
programs=cat,talker
`

// fuzzDaemon is one supervisord shared by every input of a fuzzing
// process, so that the inputs also meet the state earlier ones left.
var fuzzDaemon struct {
	once    sync.Once
	err     error
	sock    string
	dir     string
	methods []string
	exited  chan struct{}
	cmd     *exec.Cmd
	output  lockedBuffer
}

// lockedBuffer collects a daemon's output while the test reads it.
type lockedBuffer = daemontest.Buffer

func startFuzzDaemon() error {
	f := &fuzzDaemon
	dir, err := os.MkdirTemp("", "gpudesk-fuzz")
	if err != nil {
		return err
	}
	f.dir, f.sock = dir, filepath.Join(dir, "sock")
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(fuzzConf, "DIR", dir)), 0o644); err != nil {
		return err
	}
	f.cmd = exec.Command(supervisord, "-c", conf)
	f.cmd.Stdout, f.cmd.Stderr = &f.output, &f.output
	// A fuzzing worker can be killed at any time: the daemon goes with it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		return err
	}
	f.exited = make(chan struct{})
	go func() { f.cmd.Wait(); close(f.exited) }()
	cleanups = append(cleanups, func() {
		f.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.exited:
		case <-time.After(15 * time.Second):
			f.cmd.Process.Kill()
		}
		os.RemoveAll(dir)
	})
	c, err := xmlrpc.NewClient("unix://"+f.sock, "", "")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := c.Call(context.Background(), "system.listMethods")
		if err == nil {
			for _, m := range v.([]any) {
				// The two calls whose job is to end the daemon.
				if m != "supervisor.shutdown" && m != "supervisor.restart" {
					f.methods = append(f.methods, m.(string))
				}
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("supervisord did not answer: %v; output:\n%s", err, f.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fuzzValues turns fuzz bytes into XML-RPC values of every type and of
// sizes from nothing to hundreds of kilobytes, with the numbers that
// break arithmetic and the names the configuration knows.
type fuzzValues struct{ data []byte }

func (g *fuzzValues) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

var (
	fuzzInts    = []string{"0", "1", "-1", "2147483647", "-2147483648", "1024", "-1024", "15", "9"}
	fuzzI8s     = []string{"1099511627776", "9223372036854775807", "-9223372036854775808", "-1099511627776", "4294967296"}
	fuzzStrings = []string{"", "cat", "talker", "manual", "g:cat", "g:*", "g", "nope", "g:nope", "*", ":", "TERM", "HUP", "KILL", "SIGUSR1", "0", "99", "-1",
		"1099511627776", "9223372036854775808", "supervisor.getState", "system.multicall", "system.listMethods", "supervisor.readLog", "\x00", "é", "../../etc/passwd"}
)

func (g *fuzzValues) value(depth int) string {
	switch k := g.byte(); k % 12 {
	case 0:
		return "<int>" + fuzzInts[int(g.byte())%len(fuzzInts)] + "</int>"
	case 1:
		return "<i8>" + fuzzI8s[int(g.byte())%len(fuzzI8s)] + "</i8>"
	case 2:
		return "<string>" + xmlEscape(fuzzStrings[int(g.byte())%len(fuzzStrings)]) + "</string>"
	case 3:
		// Raw fuzz bytes as text, escaped and stripped of what XML forbids.
		n := int(g.byte())
		s := string(g.data[:min(n, len(g.data))])
		g.data = g.data[min(n, len(g.data)):]
		return "<string>" + xmlEscape(strings.ToValidUTF8(s, "?")) + "</string>"
	case 4:
		// A long string: up to 255 KiB.
		return "<string>" + strings.Repeat("x", int(g.byte())<<10) + "</string>"
	case 5:
		return fmt.Sprintf("<boolean>%d</boolean>", g.byte()%2)
	case 6:
		return fmt.Sprintf("<double>%d.5e%d</double>", g.byte(), int(g.byte())*2)
	case 7:
		return "<base64>" + base64.StdEncoding.EncodeToString([]byte(fuzzStrings[int(g.byte())%len(fuzzStrings)])) + "</base64>"
	case 8:
		return "<nil/>"
	case 9:
		if depth > 3 {
			return "<int>0</int>"
		}
		var b strings.Builder
		b.WriteString("<array><data>")
		for range int(g.byte()) % 5 {
			b.WriteString("<value>" + g.value(depth+1) + "</value>")
		}
		b.WriteString("</data></array>")
		return b.String()
	case 10:
		if depth > 3 {
			return "<int>0</int>"
		}
		// A struct, often shaped as a multicall's call.
		var b strings.Builder
		b.WriteString("<struct>")
		names := []string{"methodName", "params", "faultCode", "x"}
		for range int(g.byte()) % 4 {
			b.WriteString("<member><name>" + names[int(g.byte())%len(names)] + "</name><value>" + g.value(depth+1) + "</value></member>")
		}
		b.WriteString("</struct>")
		return b.String()
	default:
		return "<dateTime.iso8601>20261201T12:00:00</dateTime.iso8601>"
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < 0x20 && r != '\t' && r != '\n':
			b.WriteString("?")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzMethods calls every method of a live supervisord with arguments of
// random types, counts and sizes: each call is answered (a result, a
// fault, or an HTTP error other than a recovered panic) and the daemon
// stays up.
func FuzzMethods(f *testing.F) {
	for m := range 64 {
		f.Add(uint8(m), []byte{})
		f.Add(uint8(m), []byte{3, 2, 1, 1, 0, 2, 1, 2, 1, 0, 4})
		f.Add(uint8(m), []byte{3, 2, 2, 1, 2, 1, 1, 2, 1, 3})
		f.Add(uint8(m), []byte{4, 9, 3, 10, 3, 0, 2, 21, 1, 9, 0, 4, 200})
	}
	f.Fuzz(func(t *testing.T, m uint8, data []byte) {
		fuzzDaemon.once.Do(func() { fuzzDaemon.err = startFuzzDaemon() })
		if fuzzDaemon.err != nil {
			t.Fatal(fuzzDaemon.err)
		}
		fd := &fuzzDaemon
		method := fd.methods[int(m)%len(fd.methods)]
		g := &fuzzValues{data: data}
		var params []string
		for range int(g.byte()) % 5 {
			params = append(params, g.value(0))
		}
		call := callXML(method, params...)
		hc := unixClient(fd.sock)
		hc.Timeout = 60 * time.Second
		defer hc.CloseIdleConnections()
		resp, err := hc.Post("http://localhost/RPC2", "text/xml", strings.NewReader(call))
		if err != nil {
			t.Fatalf("%s: no answer: %v\ncall: %.500s\ndaemon output:\n%s", method, err, call, fd.output.String())
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: answer cut: %v\ncall: %.500s", method, err, call)
		}
		if resp.StatusCode == http.StatusOK {
			if _, err := xmlrpc.DecodeResponse(strings.NewReader(string(body)), xmlrpc.ResponseLimits); err != nil {
				if _, isFault := err.(*xmlrpc.Fault); !isFault {
					t.Fatalf("%s: undecodable answer: %v\ncall: %.500s", method, err, call)
				}
			}
		} else if strings.Contains(string(body), "internal error") {
			t.Fatalf("%s: a panic: HTTP %d %s\ncall: %.500s", method, resp.StatusCode, body, call)
		}
		select {
		case <-fd.exited:
			t.Fatalf("supervisord exited after %s\ncall: %.500s\noutput:\n%s", method, call, fd.output.String())
		default:
		}
		if code, data := rawCall(t, fd.sock, getState); code != 200 || !strings.Contains(data, "RUNNING") {
			t.Fatalf("getState after %s: HTTP %d: %s\ncall: %.500s", method, code, data, call)
		}
	})
}

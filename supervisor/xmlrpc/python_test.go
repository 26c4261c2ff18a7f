package xmlrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is Debian's interpreter, which has supervisor installed.
const python = "/usr/bin/python3"

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: these tests compare with Python's xmlrpc.client and Python supervisor (apt-get install -y python3 supervisor): %v", python, err)
	}
	if out, err := exec.Command(python, "-I", "-c", "import xmlrpc.client, supervisor.xmlrpc").CombinedOutput(); err != nil {
		t.Fatalf("Python supervisor is not importable by %s (apt-get install -y supervisor): %v\n%s", python, err, out)
	}
}

// pyCmd runs a script from testdata in isolated mode, from an empty
// directory (so that no xmlrpc.py can shadow the standard library).
func pyCmd(t *testing.T, script string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, append([]string{"-I", path}, args...)...)
	cmd.Dir = t.TempDir()
	return cmd
}

func runPy(t *testing.T, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	cmd := pyCmd(t, script, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// pyCase is a value in Python and Go. Go is what we decode from Python's
// encoding and what we encode; Enc, when set, is encoded instead.
type pyCase struct {
	name    string
	py      string
	goVal   any
	enc     any
	pyBack  string // what Python must read from our encoding, if not py
	goBack  any    // what we must read from Python's encoding, if not goVal
	inexact bool   // our bytes differ from dumps (dict order, \r, ...)
	noSuper bool   // skip supervisor's parser (bytes that are not UTF-8)
	pyFails bool   // Python's own loads rejects its dumps
}

func nested(n int) (string, any) {
	py, v := "[]", any([]any{})
	for range n {
		py, v = "["+py+", 1]", []any{v, int64(1)}
	}
	return py, v
}

func pyCases() []pyCase {
	deepPy, deepGo := nested(30)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return []pyCase{
		{name: "none", py: "None", goVal: nil},
		{name: "true", py: "True", goVal: true},
		{name: "false", py: "False", goVal: false},
		{name: "zero", py: "0", goVal: int64(0)},
		{name: "int", py: "-42", goVal: int64(-42), enc: -42},
		{name: "int32 max", py: "2**31-1", goVal: int64(math.MaxInt32)},
		{name: "int32 min", py: "-2**31", goVal: int64(math.MinInt32), enc: int32(math.MinInt32)},
		{name: "float zero", py: "0.0", goVal: 0.0},
		{name: "float neg zero", py: "-0.0", goVal: math.Copysign(0, -1)},
		{name: "float tenth", py: "0.1", goVal: 0.1},
		{name: "float third", py: "1/3", goVal: 1.0 / 3},
		{name: "float 1e16", py: "1e16", goVal: 1e16},
		{name: "float 1e15", py: "1e15", goVal: 1e15},
		{name: "float 1e-5", py: "1e-05", goVal: 1e-5},
		{name: "float 1e-4", py: "0.0001", goVal: 1e-4},
		{name: "float big", py: "1.5e300", goVal: 1.5e300},
		{name: "float tiny", py: "5e-324", goVal: 5e-324},
		{name: "float 2^53+", py: "2.0**53+2", goVal: math.Pow(2, 53) + 2},
		{name: "float inf", py: "inf", goVal: math.Inf(1)},
		{name: "float -inf", py: "-inf", goVal: math.Inf(-1)},
		{name: "float nan", py: "nan", goVal: math.NaN()},
		{name: "float32", py: "0.1", goVal: 0.1, enc: float32(0.1)},
		{name: "string empty", py: "''", goVal: ""},
		{name: "string", py: "'hello'", goVal: "hello"},
		{name: "string unicode", py: "'héllo ✓ 😀 \\u0800 \\u2028 \\x85 \\x7f'", goVal: "héllo ✓ 😀 \u0800 \u2028 \u0085 \x7f"},
		{name: "string markup", py: `'a&b<c>d"e\'f ]]> &amp;'`, goVal: `a&b<c>d"e'f ]]> &amp;`},
		{name: "string spaces", py: "'  \\t spaced \\n\\n '", goVal: "  \t spaced \n\n "},
		{name: "string cr", py: "'a\\r\\nb\\rc'", goVal: "a\r\nb\rc", goBack: "a\nb\nc", inexact: true},
		{name: "string control", py: "'a\\x01b\\x1b[31m'", goVal: "a\x01b\x1b[31m", pyBack: "'a\\ufffdb\\ufffd[31m'", inexact: true, pyFails: true},
		{name: "string nonchar", py: "'a\\uffffb'", goVal: "a\uffffb", pyBack: "'a\\ufffdb'", inexact: true, pyFails: true},
		{name: "bytes empty", py: "b''", goVal: []byte{}},
		{name: "bytes", py: "b'\\x00\\x01\\xff'", goVal: []byte{0, 1, 0xff}, noSuper: true},
		{name: "bytes all", py: "bytes(range(256))", goVal: all, noSuper: true},
		{name: "bytes text", py: "b'x' * 200", goVal: bytes.Repeat([]byte("x"), 200)},
		{name: "datetime", py: "datetime.datetime(2024, 1, 2, 3, 4, 5)", goVal: utc(2024, 1, 2, 3, 4, 5)},
		{name: "datetime min", py: "datetime.datetime(1, 1, 1)", goVal: utc(1, 1, 1, 0, 0, 0)},
		{name: "datetime max", py: "datetime.datetime(9999, 12, 31, 23, 59, 59)", goVal: utc(9999, 12, 31, 23, 59, 59)},
		{name: "list empty", py: "[]", goVal: []any{}},
		{name: "list", py: "[1, 'a', None, True, 1.5]", goVal: []any{int64(1), "a", nil, true, 1.5}},
		{name: "list strings", py: "['a', 'b']", goVal: []any{"a", "b"}, enc: []string{"a", "b"}},
		{name: "list nested", py: deepPy, goVal: deepGo},
		{name: "dict empty", py: "{}", goVal: map[string]any{}},
		{name: "dict", py: "{'a': 1, 'b': 'x'}", goVal: map[string]any{"a": int64(1), "b": "x"}},
		{name: "dict empty key", py: "{'': 'empty key'}", goVal: map[string]any{"": "empty key"}},
		{name: "dict markup key", py: "{'a&<>': [1, {'b': None}]}", goVal: map[string]any{"a&<>": []any{int64(1), map[string]any{"b": nil}}}},
		{name: "dict unicode", py: "{'ключ': 'значение', 'z': 'last'}", goVal: map[string]any{"ключ": "значение", "z": "last"}, inexact: true},
		{name: "dict unordered", py: "{'b': 2, 'a': 1}", goVal: map[string]any{"a": int64(1), "b": int64(2)}, inexact: true},
		{name: "process info", py: "{'description': 'pid 1234, uptime 0:01:00', 'exitstatus': 0, 'group': 'web', 'logfile': '/tmp/web.log', 'name': 'web', 'now': 1700000060, 'pid': 1234, 'spawnerr': '', 'start': 1700000000, 'state': 20, 'statename': 'RUNNING', 'stderr_logfile': '', 'stdout_logfile': '/tmp/web.log', 'stop': 0}",
			goVal: map[string]any{"description": "pid 1234, uptime 0:01:00", "exitstatus": int64(0), "group": "web", "logfile": "/tmp/web.log", "name": "web", "now": int64(1700000060), "pid": int64(1234), "spawnerr": "", "start": int64(1700000000), "state": int64(20), "statename": "RUNNING", "stderr_logfile": "", "stdout_logfile": "/tmp/web.log", "stop": int64(0)}},
		{name: "multicall", py: "[{'methodName': 'supervisor.getState', 'params': []}, {'methodName': 'supervisor.readLog', 'params': [0, 100]}]",
			goVal: []any{map[string]any{"methodName": "supervisor.getState", "params": []any{}}, map[string]any{"methodName": "supervisor.readLog", "params": []any{int64(0), int64(100)}}}},
	}
}

// TestPython_codecBothWays: Python's dumps decodes here to the same value,
// our encoding loads in Python (and in Python supervisor's server-side
// parser) to the same value, and our bytes are Python's.
func TestPython_codecBothWays(t *testing.T) {
	needPython(t)
	cases := pyCases()
	type in struct {
		Name       string `json:"name"`
		Py         string `json:"py"`
		PyBack     string `json:"py_back,omitempty"`
		GoResponse string `json:"go_response"`
		GoCall     string `json:"go_call"`
		Supervisor bool   `json:"supervisor"`
	}
	var ins []in
	for _, c := range cases {
		v := c.enc
		if v == nil {
			v = c.goVal
		}
		var resp, call bytes.Buffer
		if err := EncodeResponse(&resp, v); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := EncodeCall(&call, "test.echo", v, "tail"); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ins = append(ins, in{c.name, c.py, c.pyBack, resp.String(), call.String(), !c.noSuper})
	}
	stdin, _ := json.Marshal(ins)
	type attempt struct {
		OK    bool `json:"ok"`
		Value struct {
			Equal bool   `json:"equal"`
			Repr  string `json:"repr"`
		} `json:"value"`
		Error string `json:"error"`
	}
	var outs []struct {
		Name          string   `json:"name"`
		DumpsResponse string   `json:"dumps_response"`
		DumpsCall     string   `json:"dumps_call"`
		DumpsError    string   `json:"dumps_error"`
		LoadsResponse attempt  `json:"loads_response"`
		LoadsCall     attempt  `json:"loads_call"`
		Supervisor    *attempt `json:"supervisor"`
	}
	if err := json.Unmarshal(runPy(t, stdin, "codec.py"), &outs); err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(outs), len(cases))
	}
	for i, c := range cases {
		o := outs[i]
		t.Run(c.name, func(t *testing.T) {
			if o.DumpsError != "" {
				t.Fatalf("Python cannot dump %s: %s", c.py, o.DumpsError)
			}
			// Python → Go.
			want := c.goBack
			if want == nil {
				want = c.goVal
			}
			got, err := DecodeResponse(strings.NewReader(o.DumpsResponse), Limits{})
			m, params, cerr := DecodeCall(strings.NewReader(o.DumpsCall), Limits{})
			if c.pyFails {
				var de *DecodeError
				if !errors.As(err, &de) || !errors.As(cerr, &de) {
					t.Errorf("Python's invalid XML %q decoded: %#v %v / %v", o.DumpsResponse, got, err, cerr)
				}
			} else {
				if err != nil || !equal(got, want) {
					t.Errorf("DecodeResponse(Python's %q) = %#v, %v; want %#v", o.DumpsResponse, got, err, want)
				}
				if cerr != nil || m != "test.echo" || !equal(params, []any{want, "tail"}) {
					t.Errorf("DecodeCall(Python's %q) = %q %#v, %v", o.DumpsCall, m, params, cerr)
				}
			}
			// Go → Python.
			for what, a := range map[string]*attempt{"loads(response)": &o.LoadsResponse, "loads(call)": &o.LoadsCall, "supervisor loads(call)": o.Supervisor} {
				if a == nil {
					continue
				}
				if !a.OK || !a.Value.Equal {
					t.Errorf("Python %s of our encoding: %s %s (our XML: %q)", what, a.Error, a.Value.Repr, ins[i].GoResponse)
				}
			}
			// Same bytes.
			if !c.inexact {
				if ins[i].GoResponse != o.DumpsResponse {
					t.Errorf("response bytes differ:\nours   %q\nPython %q", ins[i].GoResponse, o.DumpsResponse)
				}
				if ins[i].GoCall != o.DumpsCall {
					t.Errorf("call bytes differ:\nours   %q\nPython %q", ins[i].GoCall, o.DumpsCall)
				}
			}
		})
	}
}

func TestPython_faultBytes(t *testing.T) {
	needPython(t)
	out := runPy(t, nil, "dumps_fault.py")
	var b bytes.Buffer
	if err := EncodeFault(&b, &Fault{10, "BAD_NAME: foo & <bar>"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != string(out) {
		t.Fatalf("ours   %q\nPython %q", b.String(), out)
	}
}

// startPyServer runs testdata/server.py and returns what it listens on.
func startPyServer(t *testing.T, args ...string) string {
	t.Helper()
	cmd := pyCmd(t, "server.py", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		where, ok := strings.CutPrefix(strings.TrimSpace(line), "READY ")
		if !ok {
			t.Fatalf("server.py: %q\n%s", line, stderr.String())
		}
		return where
	case <-time.After(20 * time.Second):
		t.Fatalf("server.py did not start\n%s", stderr.String())
	}
	return ""
}

// TestPython_clientAgainstSimpleXMLRPCServer: our Client and Python's
// server, over TCP.
func TestPython_clientAgainstSimpleXMLRPCServer(t *testing.T) {
	needPython(t)
	port := startPyServer(t, "tcp")
	c, err := NewClient("http://127.0.0.1:"+port, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, pc := range pyCases() {
		if pc.inexact || pc.pyFails {
			continue
		}
		v := pc.enc
		if v == nil {
			v = pc.goVal
		}
		got, err := c.Call(ctx, "echo", v)
		if err != nil || !equal(got, pc.goVal) {
			t.Errorf("echo %s: %#v, %v", pc.name, got, err)
		}
	}
	// Our CR reaches Python intact (see TestPython_codecBothWays), but
	// Python sends it back raw, and XML parsing turns CR LF into LF.
	got, err := c.Call(ctx, "echo", "a\r\nb\x01")
	if err != nil || got != "a\nb\uFFFD" {
		t.Errorf("echo of CR and a control character: %q, %v", got, err)
	}
	got, err = c.Call(ctx, "args")
	if err != nil || !equal(got, []any{}) {
		t.Errorf("no args: %#v, %v", got, err)
	}
	_, err = c.Call(ctx, "fault")
	var f *Fault
	if !errors.As(err, &f) || *f != (Fault{10, "BAD_NAME: foo"}) {
		t.Errorf("fault: %v", err)
	}
	_, err = c.Call(ctx, "nope")
	if !errors.As(err, &f) || f.Code != 1 || !strings.Contains(f.String, `method "nope" is not supported`) {
		t.Errorf("unknown method: %v", err)
	}
	// Bigger than the server's encode_threshold: gzip-encoded response.
	got, err = c.Call(ctx, "big", 100000)
	if s, _ := got.(string); err != nil || len(s) != 100000 {
		t.Errorf("big: %d bytes, %v", len(s), err)
	}
	// Python's marshaller refuses ints over 32 bits; its server turns that
	// into a fault.
	_, err = c.Call(ctx, "overflow")
	if !errors.As(err, &f) || !strings.Contains(f.String, "int exceeds XML-RPC limits") {
		t.Errorf("overflow: %v", err)
	}
	got, err = c.Call(ctx, "system.multicall", []any{
		map[string]any{"methodName": "echo", "params": []any{1}},
		map[string]any{"methodName": "fault", "params": []any{}},
	})
	want := []any{[]any{int64(1)}, map[string]any{"faultCode": int64(10), "faultString": "BAD_NAME: foo"}}
	if err != nil || !equal(got, want) {
		t.Errorf("multicall: %#v, %v", got, err)
	}
	// Python answers 404 off its rpc_paths.
	resp, err := c.Get(ctx, "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere: %s", resp.Status)
	}
}

// TestPython_clientOnUnixSocketWithAuth: our Client and Python's
// dispatcher on a unix socket that demands Basic auth.
func TestPython_clientOnUnixSocketWithAuth(t *testing.T) {
	needPython(t)
	dir, err := os.MkdirTemp("", "xr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:p@ss:word"))
	startPyServer(t, "unix", sock, auth)
	ctx := context.Background()

	c, err := NewClient("unix://"+sock, "user", "p@ss:word")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Call(ctx, "echo", map[string]any{"a": []any{true, nil}})
	if err != nil || !equal(got, map[string]any{"a": []any{true, nil}}) {
		t.Fatalf("echo: %#v, %v", got, err)
	}
	for _, cred := range [][2]string{{"", ""}, {"user", "wrong"}} {
		c, _ := NewClient("unix://"+sock, cred[0], cred[1])
		_, err := c.Call(ctx, "echo", 1)
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != 401 || !strings.Contains(he.Error(), "401") {
			t.Errorf("credentials %q: %v", cred, err)
		}
	}
}

// recordingHandler serves the Python-driven tests: echo, types, headers,
// fault, boom and a minimal system.multicall.
func recordingHandler() HandlerFunc {
	var fn HandlerFunc
	fn = func(ctx context.Context, method string, params []any) (any, error) {
		switch method {
		case "echo":
			if len(params) != 1 {
				return nil, &Fault{2, "INCORRECT_PARAMETERS"}
			}
			return params[0], nil
		case "types":
			var out []any
			for _, p := range params {
				out = append(out, fmt.Sprintf("%T", p))
			}
			return out, nil
		case "headers":
			h, _ := ctx.Value(headersKey{}).(http.Header)
			out := map[string]any{}
			for k := range h {
				out[k] = h.Get(k)
			}
			return out, nil
		case "fault":
			return nil, fmt.Errorf("wrapped: %w", &Fault{10, "BAD_NAME: foo"})
		case "system.multicall":
			calls, _ := params[0].([]any)
			var out []any
			for _, c := range calls {
				m := c.(map[string]any)
				ps, _ := m["params"].([]any)
				v, err := fn(ctx, m["methodName"].(string), ps)
				var f *Fault
				if errors.As(err, &f) {
					out = append(out, map[string]any{"faultCode": f.Code, "faultString": f.String})
				} else if err != nil {
					return nil, err
				} else {
					out = append(out, []any{v})
				}
			}
			return out, nil
		}
		return nil, errors.New("boom: " + method)
	}
	return fn
}

type headersKey struct{}

func withHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), headersKey{}, r.Header)))
	})
}

// basicAuth answers 401 unless the request carries user:pass.
func basicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="default"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestPython_serverProxyAgainstHandler: Python's ServerProxy, MultiCall,
// http.client and supervisor's SupervisorTransport against Handler.
func TestPython_serverProxyAgainstHandler(t *testing.T) {
	needPython(t)
	h := withHeaders(Handler(recordingHandler(), Limits{}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	dir, err := os.MkdirTemp("", "xr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	usrv := &http.Server{Handler: basicAuth(h, "user", "secret")}
	var wg sync.WaitGroup
	wg.Go(func() { usrv.Serve(ln) })
	defer func() { usrv.Close(); wg.Wait() }()

	var out map[string]struct {
		OK       bool            `json:"ok"`
		Value    json.RawMessage `json:"value"`
		Fault    []any           `json:"fault"`
		Protocol []any           `json:"protocol"`
		Error    string          `json:"error"`
	}
	if err := json.Unmarshal(runPy(t, nil, "client.py", srv.URL, sock, "user", "secret"), &out); err != nil {
		t.Fatal(err)
	}
	check := func(name, want string) {
		t.Helper()
		r, ok := out[name]
		if !ok {
			t.Errorf("%s: no answer", name)
			return
		}
		got := ""
		switch {
		case r.OK:
			got = string(r.Value)
		case r.Fault != nil:
			got = fmt.Sprintf("fault %v", r.Fault)
		case r.Protocol != nil:
			got = fmt.Sprintf("protocol %v", r.Protocol)
		default:
			got = "error " + r.Error
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %s, want it to contain %s", name, got, want)
		}
	}
	check("echo", "true")
	check("types", `["bool", "int64", "int64", "float64", "string", "<nil>", "[]uint8", "time.Time", "[]interface {}", "map[string]interface {}"]`)
	check("fault", "fault [10 BAD_NAME: foo]")
	check("boom", "protocol [500 Internal Server Error]")
	check("overflow", "error OverflowError: int exceeds XML-RPC limits")
	check("no_none", "error TypeError: cannot marshal None unless allow_none is enabled")
	check("headers", `"Content-Type": "text/xml"`)
	check("multicall", `[["value", 1], ["fault", 10, "BAD_NAME: foo"], ["value", "x"]]`)
	check("malformed_xml", `[400, "text/plain; charset=utf-8", null, "xmlrpc: line 1: unexpected EOF`)
	check("malformed_rpc", `[400, "text/plain; charset=utf-8", null, "xmlrpc: line 1, column 73: bad <int> \"x\"`)
	check("not_xml", `[400, "text/plain; charset=utf-8", null, "xmlrpc: line 1, column 6: text before the document element`)
	check("get", `[405, "text/plain; charset=utf-8", "POST", "XML-RPC requires POST`)
	check("supervisor_unix", `["a", {"k": [1, true]}, true, "a\nb\nc", [10, "BAD_NAME: foo"], "after fault"]`)
	check("supervisor_unix_noauth", "protocol [401 Unauthorized]")
	check("supervisor_unix_badauth", "protocol [401 Unauthorized]")
	check("supervisor_http", `["a", {"k": [1, true]}, true, "a\nb\nc", [10, "BAD_NAME: foo"], "after fault"]`)
	if t.Failed() || testing.Verbose() {
		t.Logf("headers Python's ServerProxy sent: %s", out["headers"].Value)
	}
}

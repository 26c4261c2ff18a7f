"""Python clients driving the Go Handler, run by python_test.go.

client.py URL UNIXPATH USER PASSWORD
URL is an httptest server serving Handler (no auth); UNIXPATH a unix
socket serving Handler behind Basic auth USER:PASSWORD. Prints one JSON
object of observations.
"""
import datetime
import http.client
import json
import sys
import urllib.parse
import xmlrpc.client as xc

from supervisor.xmlrpc import SupervisorTransport

URL, UNIXPATH, USER, PASSWORD = sys.argv[1:5]
out = {}


def attempt(name, fn):
    try:
        out[name] = {"ok": True, "value": fn()}
    except xc.Fault as e:
        out[name] = {"ok": False, "fault": [e.faultCode, e.faultString]}
    except xc.ProtocolError as e:
        out[name] = {"ok": False, "protocol": [e.errcode, e.errmsg]}
    except Exception as e:
        out[name] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


VALUE = {
    "bool": True, "int": 2 ** 31 - 1, "neg": -2 ** 31, "float": 0.1,
    "str": "héllo & <ok> ✓", "empty": "", "none": None,
    "bytes": b"\x00\xff", "date": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "list": [1, [2, [3]], {}], "dict": {"a": {"b": []}},
}

proxy = xc.ServerProxy(URL + "/RPC2", allow_none=True, use_builtin_types=True)
attempt("echo", lambda: proxy.echo(VALUE) == VALUE)
attempt("echo_repr", lambda: repr(proxy.echo(VALUE)))
attempt("types", lambda: proxy.types(True, 0, 1, 1.5, "s", None, b"b",
                                     datetime.datetime(2024, 1, 2, 3, 4, 5), [], {}))
attempt("fault", lambda: proxy.fault())
attempt("boom", lambda: proxy.boom())
attempt("overflow", lambda: proxy.echo(2 ** 31))
attempt("no_none", lambda: xc.ServerProxy(URL + "/RPC2").echo(None))
attempt("headers", lambda: proxy.headers())


def run_multicall():
    mc = xc.MultiCall(proxy)
    mc.echo(1)
    mc.fault()
    mc.echo("x")
    results = mc()
    res = []
    for i in range(3):
        try:
            res.append(["value", results[i]])
        except xc.Fault as e:
            res.append(["fault", e.faultCode, e.faultString])
    return res


attempt("multicall", run_multicall)

# Raw HTTP: malformed bodies and other methods.
u = urllib.parse.urlsplit(URL)


def raw(method, body, headers=None):
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request(method, "/RPC2", body=body, headers=headers or {"Content-Type": "text/xml"})
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    res = [r.status, r.getheader("Content-Type"), r.getheader("Allow"), data]
    c.close()
    return res


attempt("malformed_xml", lambda: raw("POST", b"<methodCall><methodName>x</methodName>"))
attempt("malformed_rpc", lambda: raw("POST", b"<methodCall><methodName>x</methodName><params><param><value><int>x</int></value></param></params></methodCall>"))
attempt("not_xml", lambda: raw("POST", b"hello"))
attempt("get", lambda: raw("GET", None))

# Python supervisor's own client transport (what supervisorctl uses), on
# the unix socket with Basic auth and over http without.
def supervisor_proxy(url, user, password):
    return xc.ServerProxy("http://127.0.0.1",
                          transport=SupervisorTransport(user, password, url))


def supervisor_calls(url, user, password):
    p = supervisor_proxy(url, user, password)
    text = "h\u00e9llo \u2713 \U0001F600 &amp; <x>\n"
    # Python sends a CR raw: it arrives as LF.
    res = [p.echo("a"), p.echo({"k": [1, True]}), p.echo(text) == text,
           p.echo("a\r\nb\rc")]
    try:
        p.fault()
    except xc.Fault as e:
        res.append([e.faultCode, e.faultString])
    res.append(p.echo("after fault"))
    return res


attempt("supervisor_unix", lambda: supervisor_calls("unix://" + UNIXPATH, USER, PASSWORD))
attempt("supervisor_unix_noauth", lambda: supervisor_calls("unix://" + UNIXPATH, None, None))
attempt("supervisor_unix_badauth", lambda: supervisor_calls("unix://" + UNIXPATH, USER, "wrong"))
attempt("supervisor_http", lambda: supervisor_calls(URL, None, None))

json.dump(out, sys.stdout, default=repr)

"""Differential oracle for the Go codec, run by python_test.go.

stdin: JSON list of cases {"name", "py", "py_back", "go_response", "go_call",
"supervisor"}; "py" is a Python expression for the value. For each case it
prints (one JSON document, a list) what Python's xmlrpc.client.dumps writes
for the value, and whether Python's loads (and, when asked, Python
supervisor's own server-side parser) reads the Go encodings back to
eval(py_back or py).
"""
import datetime
import json
import math
import sys
import xmlrpc.client as xc

from supervisor.compat import as_string
from supervisor.xmlrpc import supervisor_xmlrpc_handler

ENV = {"datetime": datetime, "math": math, "inf": math.inf, "nan": math.nan}


def eq(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(eq(a[k], b[k]) for k in a)
    return a == b


def as_supervisor(v):
    """What supervisor's parser makes of v: base64 comes back as str."""
    if isinstance(v, bytes):
        return as_string(v)
    if isinstance(v, list):
        return [as_supervisor(x) for x in v]
    if isinstance(v, dict):
        return {k: as_supervisor(x) for k, x in v.items()}
    return v


def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except Exception as e:  # reported to the Go test
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def main():
    out = []
    for case in json.load(sys.stdin):
        v = eval(case["py"], ENV)
        back = eval(case.get("py_back") or case["py"], ENV)
        res = {"name": case["name"]}
        d = attempt(lambda: xc.dumps((v,), methodresponse=True, allow_none=True))
        res["dumps_response"] = d.get("value")
        res["dumps_error"] = d.get("error")
        d = attempt(lambda: xc.dumps((v, "tail"), "test.echo", allow_none=True))
        res["dumps_call"] = d.get("value")

        def check_response():
            params, method = xc.loads(case["go_response"], use_builtin_types=True)
            got = params[0]
            return {"equal": eq(got, back) and method is None, "repr": repr(got)}

        def check_call():
            params, method = xc.loads(case["go_call"], use_builtin_types=True)
            return {"equal": eq(params, (back, "tail")) and method == "test.echo",
                    "repr": repr((method, params))}

        def check_supervisor():
            h = object.__new__(supervisor_xmlrpc_handler)
            params, method = h.loads(case["go_call"])
            want = (as_supervisor(back), "tail")
            return {"equal": eq(params, want) and method == "test.echo",
                    "repr": repr((method, params))}

        res["loads_response"] = attempt(check_response)
        res["loads_call"] = attempt(check_call)
        if case.get("supervisor"):
            res["supervisor"] = attempt(check_supervisor)
        out.append(res)
    json.dump(out, sys.stdout)


main()

"""A Python XML-RPC server for the Go Client, run by python_test.go.

server.py tcp                 SimpleXMLRPCServer on 127.0.0.1, a free port
server.py unix PATH [AUTH]    the same dispatcher on a unix socket; when AUTH
                              is given, requests whose Authorization header
                              differs get 401
Prints "READY <port or path>" once listening, then serves until killed.
"""
import socketserver
import sys
import xmlrpc.client as xc
from xmlrpc.server import (SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler,
                           SimpleXMLRPCServer)

AUTH = None


class Handler(SimpleXMLRPCRequestHandler):
    disable_nagle_algorithm = False  # TCP_NODELAY fails on unix sockets

    def log_message(self, *args):
        pass

    def parse_request(self):
        if not super().parse_request():
            return False
        if AUTH is not None and self.headers.get("Authorization") != AUTH:
            self.send_error(401)
            return False
        return True


class UnixXMLRPCServer(socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
    def __init__(self, path):
        self.logRequests = False
        SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None,
                                        use_builtin_types=True)
        socketserver.UnixStreamServer.__init__(self, path, Handler)


def fault():
    raise xc.Fault(10, "BAD_NAME: foo")


def register(server):
    server.register_function(lambda x: x, "echo")
    server.register_function(lambda *a: list(a), "args")
    server.register_function(fault, "fault")
    server.register_function(lambda n: "x" * n, "big")
    server.register_function(lambda: 2 ** 31, "overflow")
    server.register_multicall_functions()
    server.register_introspection_functions()


def main():
    global AUTH
    if sys.argv[1] == "tcp":
        server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Handler,
                                    logRequests=False, allow_none=True,
                                    use_builtin_types=True)
        where = server.server_address[1]
    else:
        where = sys.argv[2]
        if len(sys.argv) > 3:
            AUTH = sys.argv[3]
        server = UnixXMLRPCServer(where)
    register(server)
    print("READY", where, flush=True)
    server.serve_forever()


main()

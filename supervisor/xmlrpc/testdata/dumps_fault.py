"""Prints Python's encoding of a fault, for python_test.go."""
import sys
import xmlrpc.client as xc

sys.stdout.write(xc.dumps(xc.Fault(10, "BAD_NAME: foo & <bar>")))

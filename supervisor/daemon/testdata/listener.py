"""An event listener written with supervisor's own childutils: it records
every event it receives as a JSON line in the file named by argv[1], and
rejects the first event of type REMOTE_COMMUNICATION once (so that it is
sent again)."""
import json
import sys

from supervisor import childutils

out = open(sys.argv[1], 'a')
rejected = False
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    out.write(json.dumps({'headers': headers, 'payload': payload}) + '\n')
    out.flush()
    if headers['eventname'] == 'REMOTE_COMMUNICATION' and not rejected:
        rejected = True
        childutils.listener.fail(sys.stdout)
    else:
        childutils.listener.ok(sys.stdout)

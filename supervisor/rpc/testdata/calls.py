"""Drives a supervisord over XML-RPC with Python's own client stack and
prints one JSON line per call: {"call": ..., "result": ...} or
{"call": ..., "fault": [code, string]}. Used to compare Python's
supervisord with ours on the same configuration.

usage: calls.py SOCKET CONFDIR
"""
import json
import os
import sys
import time
import xmlrpc.client

from supervisor.xmlrpc import SupervisorTransport

sock, confdir = sys.argv[1], sys.argv[2]
proxy = xmlrpc.client.ServerProxy(
    'http://127.0.0.1', transport=SupervisorTransport('', '', 'unix://' + sock),
    allow_none=True)


def plain(v):
    if isinstance(v, xmlrpc.client.Binary):
        return {'binary': v.data.decode('latin-1')}
    if isinstance(v, xmlrpc.client.DateTime):
        return {'datetime': v.value}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def call(name, *args):
    target = proxy
    for part in name.split('.'):
        target = getattr(target, part)
    try:
        out = {'call': [name] + list(args), 'result': plain(target(*args))}
    except xmlrpc.client.Fault as f:
        out = {'call': [name] + list(args), 'fault': [f.faultCode, f.faultString]}
    except xmlrpc.client.ProtocolError as e:
        out = {'call': [name] + list(args), 'http': e.errcode}
    print(json.dumps(out, sort_keys=True), flush=True)
    return out.get('result')


def wait_state(name, states, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = proxy.supervisor.getProcessInfo(name)
        if info['statename'] in states:
            return
        time.sleep(0.05)
    raise SystemExit('%s never reached %s' % (name, states))


wait_state('sleeper', ['RUNNING'])
wait_state('echoer', ['RUNNING'])
wait_state('crasher', ['FATAL'])
for m in ('getAPIVersion', 'getVersion', 'getSupervisorVersion',
          'getIdentification', 'getState', 'getPID'):
    call('supervisor.' + m)
call('supervisor.getAllProcessInfo')
call('supervisor.getProcessInfo', 'sleeper')
call('supervisor.getProcessInfo', 'g:a')
call('supervisor.getProcessInfo', 'nope')
call('supervisor.getProcessInfo', 'g:*')
call('supervisor.getProcessInfo')
call('supervisor.getAllConfigInfo')

# starting and stopping
call('supervisor.startProcess', 'sleeper')
call('supervisor.startProcess', 'idle')
call('supervisor.startProcess', 'idle')
call('supervisor.stopProcess', 'idle')
call('supervisor.stopProcess', 'idle')
call('supervisor.startProcess', 'idle', False)
wait_state('idle', ['RUNNING'])
call('supervisor.stopProcess', 'idle', False)
wait_state('idle', ['STOPPED'])
call('supervisor.startProcess', 'missing')
call('supervisor.startProcess', 'notexec')
call('supervisor.startProcess', 'crasher')
call('supervisor.startProcess', 'nope')
call('supervisor.startProcessGroup', 'g')
call('supervisor.stopProcessGroup', 'g')
call('supervisor.startProcessGroup', 'g')
call('supervisor.startProcess', 'g:*')
call('supervisor.stopProcess', 'g:')
call('supervisor.startProcessGroup', 'nope')
call('supervisor.stopProcessGroup', 'nope')

# signals
call('supervisor.signalProcess', 'sleeper', 'CONT')
call('supervisor.signalProcess', 'sleeper', 18)
call('supervisor.signalProcess', 'sleeper', 'BOGUS')
call('supervisor.signalProcess', 'idle', 'CONT')
call('supervisor.signalProcess', 'nope', 'CONT')
call('supervisor.signalProcessGroup', 'g', 'CONT')
call('supervisor.signalProcessGroup', 'g', 'BOGUS')
call('supervisor.signalAllProcesses', 'CONT')

# logs
call('supervisor.readProcessStdoutLog', 'echoer', 0, 0)
call('supervisor.readProcessLog', 'echoer', 0, 3)
call('supervisor.readProcessStderrLog', 'echoer', 0, 0)
call('supervisor.readProcessStdoutLog', 'echoer', -3, 0)
call('supervisor.readProcessStdoutLog', 'echoer', -3, 1)
call('supervisor.readProcessStdoutLog', 'echoer', 0, -1)
call('supervisor.readProcessStdoutLog', 'nolog', 0, 0)
call('supervisor.readProcessStdoutLog', 'nope', 0, 0)
call('supervisor.tailProcessStdoutLog', 'echoer', 0, 3)
call('supervisor.tailProcessLog', 'echoer', 0, 100)
call('supervisor.tailProcessStderrLog', 'echoer', 100, 10)
call('supervisor.tailProcessStdoutLog', 'nolog', 0, 10)
call('supervisor.readLog', -1, 5)
call('supervisor.readMainLog', 0, -1)
call('supervisor.clearProcessLogs', 'echoer')
call('supervisor.readProcessStdoutLog', 'echoer', 0, 0)
call('supervisor.clearProcessLog', 'nope')

# stdin
call('supervisor.sendProcessStdin', 'cat', 'hello cat\n')
time.sleep(0.3)
call('supervisor.readProcessStdoutLog', 'cat', 0, 0)
call('supervisor.sendProcessStdin', 'idle', 'x')
call('supervisor.sendProcessStdin', 'nope', 'x')
call('supervisor.sendRemoteCommEvent', 'type', 'data')

# dispatch
call('supervisor.nope')
call('nope')
call('supervisor._update', 'x')
call('a.b.c')
call('system.listMethods')
call('system.methodSignature', 'supervisor.startProcess')
call('system.methodSignature', 'supervisor.getState')
call('system.methodSignature', 'nope')
call('system.methodHelp', 'nope')
# every method's help (compared by its tags) and signature
for m in sorted(proxy.system.listMethods()):
    call('system.methodHelp', m)
    call('system.methodSignature', m)
call('system.multicall', [
    {'methodName': 'supervisor.getAPIVersion', 'params': []},
    {'methodName': 'supervisor.getProcessInfo', 'params': ['nope']},
    {'methodName': 'system.multicall', 'params': [[]]},
    {'params': []},
    {'methodName': 'supervisor.stopProcess', 'params': ['idle']},
])

# configuration changes
call('supervisor.reloadConfig')
with open(os.path.join(confdir, 'conf.d', 'added.conf'), 'w') as f:
    f.write('[program:added]\ncommand=/bin/sleep 1000\nstartsecs=0\n')
with open(os.path.join(confdir, 'conf.d', 'changed.conf'), 'w') as f:
    f.write('[program:changed]\ncommand=/bin/sleep 999\nstartsecs=0\n')
os.remove(os.path.join(confdir, 'conf.d', 'removed.conf'))
call('supervisor.reloadConfig')
call('supervisor.addProcessGroup', 'added')
call('supervisor.addProcessGroup', 'added')
call('supervisor.addProcessGroup', 'nope')
call('supervisor.removeProcessGroup', 'removed')
call('supervisor.stopProcess', 'removed')
call('supervisor.removeProcessGroup', 'removed')
call('supervisor.removeProcessGroup', 'removed')
wait_state('added', ['RUNNING'])
call('supervisor.getAllProcessInfo')
call('supervisor.stopAllProcesses')
call('supervisor.clearAllProcessLogs')
call('supervisor.startAllProcesses', False)
call('supervisor.shutdown')
call('supervisor.getState')

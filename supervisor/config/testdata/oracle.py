#!/usr/bin/python3
"""Reference oracle for the supervisord config loader.

Usage: /usr/bin/python3 oracle.py FILE [FILE...]

Loads every FILE with the installed Python supervisor (Debian's 4.2.5) the
way `supervisord -c FILE` does, and prints one JSON object per file, one per
line, in argument order.  See the Go test that drives this script for the
meaning of every field.  The script never crashes: every failure is reported
as {"ok": false, ...} on the file's own line.
"""

import io
import json
import os
import platform
import socket
import sys
import traceback
import warnings

# A fixed %(host_node_name)s, so the recorded answers do not depend on the
# machine that recorded them (the Go test passes the same name).
if os.environ.get('ORACLE_HOSTNAME'):
    _node = os.environ['ORACLE_HOSTNAME']
    platform.node = lambda: _node


class _Usage(Exception):
    """Raised instead of supervisor's usage()/exit(): carries the message."""

    def __init__(self, msg):
        Exception.__init__(self, msg)
        self.msg = msg


class _Spec(object):
    """Stands in for an imported object; remembers the spec it came from.

    Nothing calls rpcinterface factories or result handlers while a config is
    parsed, so handing these back to supervisor in place of the real objects
    is harmless and tells us exactly which spec string belongs to which
    section.
    """

    def __init__(self, spec, obj):
        self.spec = spec
        self.obj = obj


LEVEL_NAMES = {
    50: 'critical',
    40: 'error',
    30: 'warn',
    20: 'info',
    10: 'debug',
    5: 'trace',
    3: 'blather',
}


def _password(p):
    if p is None:
        return None
    p = str(p)
    if p.startswith('{SHA}'):
        return p
    return '******'


def _opt_int(v):
    if v is None:
        return None
    return int(v)


def _opt_str(v):
    if v is None:
        return None
    return str(v)


def _str_dict(d):
    if not d:
        return {}
    return dict((str(k), str(v)) for k, v in d.items())


def _patch(opts):
    def usage(msg):
        raise _Usage(str(msg))

    def exit(code=0):
        raise _Usage('exit(%r) called' % (code,))

    opts.usage = usage
    opts.exit = exit
    opts.stdout = io.StringIO()
    opts.stderr = io.StringIO()


def _logfile_value(v):
    from supervisor.datatypes import Automatic
    if v is None:
        return None
    if v is Automatic:
        return 'AUTO'
    return str(v)


def _autorestart(v):
    from supervisor.datatypes import RestartUnconditionally
    from supervisor.datatypes import RestartWhenExitUnexpected
    if v is RestartUnconditionally:
        return 'true'
    if v is RestartWhenExitUnexpected:
        return 'unexpected'
    if v is False:
        return 'false'
    return repr(v)  # never expected


def _spec_string(obj, default=None):
    if isinstance(obj, _Spec):
        return obj.spec
    return default


def _process(pc):
    d = {
        'name': str(pc.name),
        'command': _opt_str(pc.command),
        'directory': _opt_str(pc.directory),
        'umask': _opt_int(pc.umask),
        'priority': int(pc.priority),
        'autostart': bool(pc.autostart),
        'autorestart': _autorestart(pc.autorestart),
        'startsecs': int(pc.startsecs),
        'startretries': int(pc.startretries),
        'uid': _opt_int(pc.uid),
        'stopsignal': int(pc.stopsignal),
        'stopwaitsecs': int(pc.stopwaitsecs),
        'stopasgroup': bool(pc.stopasgroup),
        'killasgroup': bool(pc.killasgroup),
        'exitcodes': [int(x) for x in pc.exitcodes],
        'redirect_stderr': bool(pc.redirect_stderr),
        'environment': _str_dict(pc.environment),
        'serverurl': _opt_str(pc.serverurl),
    }
    for ch in ('stdout', 'stderr'):
        d[ch + '_logfile'] = _logfile_value(getattr(pc, ch + '_logfile'))
        d[ch + '_capture_maxbytes'] = int(getattr(pc, ch + '_capture_maxbytes'))
        d[ch + '_events_enabled'] = bool(getattr(pc, ch + '_events_enabled'))
        d[ch + '_syslog'] = bool(getattr(pc, ch + '_syslog'))
        d[ch + '_logfile_backups'] = int(getattr(pc, ch + '_logfile_backups'))
        d[ch + '_logfile_maxbytes'] = int(getattr(pc, ch + '_logfile_maxbytes'))
    return d


def _group(g):
    from supervisor.options import EventListenerPoolConfig
    from supervisor.options import FastCGIGroupConfig
    from supervisor.options import ProcessGroupConfig
    from supervisor.events import getEventNameByType

    d = {'name': str(g.name), 'priority': int(g.priority)}
    if isinstance(g, FastCGIGroupConfig):
        d['kind'] = 'fcgi'
        sc = g.socket_config
        d['socket'] = str(sc)
        d['socket_backlog'] = _opt_int(getattr(sc, 'backlog', None))
        d['socket_mode'] = _opt_int(getattr(sc, 'mode', None))
        owner = getattr(sc, 'owner', None)
        d['socket_owner'] = None if owner is None else [int(x) for x in owner]
    elif isinstance(g, EventListenerPoolConfig):
        d['kind'] = 'eventlistener'
        d['buffer_size'] = int(g.buffer_size)
        d['events'] = sorted(str(getEventNameByType(e)) for e in g.pool_events)
        d['result_handler'] = _spec_string(
            g.result_handler, 'supervisor.dispatchers:default_handler')
    elif isinstance(g, ProcessGroupConfig):
        d['kind'] = 'process'
    else:
        d['kind'] = type(g).__name__
    d['processes'] = [_process(pc) for pc in g.process_configs]
    return d


def _server(cfg):
    d = {
        'name': _opt_str(cfg.get('name')),
        'section': str(cfg['section']),
        'username': _opt_str(cfg.get('username')),
        'password': _password(cfg.get('password')),
    }
    if cfg['family'] == socket.AF_UNIX:
        d['family'] = 'unix'
        d['file'] = str(cfg['file'])
        d['chmod'] = int(cfg['chmod'])
        d['chown'] = [int(x) for x in cfg['chown']]
    else:
        d['family'] = 'inet'
        d['host'] = str(cfg['host'])
        d['port'] = int(cfg['port'])
    return d


def _supervisorctl(path):
    from supervisor.options import ClientOptions
    try:
        copts = ClientOptions()
        _patch(copts)
        copts.realize(args=['-c', path])
    except _Usage as e:
        if e.msg == '.ini file does not include supervisorctl section':
            return None
        return {'error': e.msg}
    except Exception as e:
        return {'error': '%s: %s' % (type(e).__name__, e)}
    sec = copts.configroot.supervisorctl
    return {
        'serverurl': _opt_str(sec.serverurl),
        'username': _opt_str(sec.username),
        'password': _password(sec.password),
        'prompt': _opt_str(sec.prompt),
        'history_file': _opt_str(sec.history_file),
    }


def load(path):
    from supervisor.options import ServerOptions

    opts = ServerOptions()
    _patch(opts)
    real_import_spec = opts.import_spec

    def import_spec(spec):
        return _Spec(spec, real_import_spec(spec))

    opts.import_spec = import_spec

    try:
        opts.realize(args=['-c', path])
    except _Usage as e:
        return {'ok': False, 'file': path, 'error': e.msg}

    sec = opts.configroot.supervisord
    out = {'ok': True, 'file': path}
    out['supervisord'] = {
        'logfile': str(opts.logfile),
        'pidfile': str(opts.pidfile),
        'logfile_maxbytes': int(sec.logfile_maxbytes),
        'logfile_backups': int(sec.logfile_backups),
        'loglevel': LEVEL_NAMES.get(sec.loglevel, repr(sec.loglevel)),
        'umask': int(sec.umask),
        'nodaemon': bool(sec.nodaemon),
        'silent': bool(sec.silent),
        'minfds': int(sec.minfds),
        'minprocs': int(sec.minprocs),
        'nocleanup': bool(sec.nocleanup),
        'strip_ansi': bool(sec.strip_ansi),
        'childlogdir': str(sec.childlogdir),
        'user': _opt_str(sec.user),
        'directory': _opt_str(sec.directory),
        'identifier': str(sec.identifier),
        'environment': _str_dict(sec.environment),
    }
    out['servers'] = [_server(c) for c in sec.server_configs]
    out['rpcinterfaces'] = [
        {'name': str(name), 'factory': _spec_string(factory),
         'extras': _str_dict(extras)}
        for (name, factory, extras) in sec.rpcinterface_factories
    ]
    out['groups'] = [_group(g) for g in opts.process_group_configs]
    out['supervisorctl'] = _supervisorctl(path)
    out['warnings'] = [str(w) for w in opts.parse_warnings]
    return out


def _undo_locale_coercion():
    """Undo the LC_CTYPE=C.UTF-8 that CPython's C-locale coercion (PEP 538)
    writes into os.environ when started with no locale set (e.g. `env -i`).

    supervisord would expose it as %(ENV_LC_CTYPE)s and list it among the
    "Available names" of expansion errors, but it is not part of the
    environment the caller passed, so a Go loader would never see it.
    /proc/self/environ still holds the environment as the caller passed it.
    """
    try:
        with open('/proc/self/environ', 'rb') as f:
            raw = f.read()
    except (IOError, OSError):
        return
    orig = {}
    for item in raw.split(b'\0'):
        if b'=' in item:
            k, v = item.split(b'=', 1)
            orig[os.fsdecode(k)] = os.fsdecode(v)
    key = 'LC_CTYPE'
    if key in orig:
        if os.environ.get(key) != orig[key]:
            os.environ[key] = orig[key]
    elif key in os.environ:
        del os.environ[key]


def main(argv):
    warnings.simplefilter('ignore')
    _undo_locale_coercion()
    real_stdout = sys.stdout
    for path in argv[1:]:
        # Anything supervisor (or an imported plugin module) prints must not
        # end up between our JSON lines.
        sys.stdout = io.StringIO()
        saved_stderr = sys.stderr
        sys.stderr = io.StringIO()
        try:
            try:
                obj = load(path)
            except (KeyboardInterrupt, GeneratorExit):
                raise
            except BaseException as e:
                obj = {'ok': False, 'file': path, 'crash': True,
                       'error': '%s: %s' % (type(e).__name__, e)}
                if os.environ.get('ORACLE_DEBUG'):
                    saved_stderr.write(traceback.format_exc())
            line = json.dumps(obj, sort_keys=True)
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as e:  # e.g. something not JSON-serialisable
            line = json.dumps({'ok': False, 'file': path, 'crash': True,
                               'error': 'oracle: %s: %s' % (type(e).__name__, e)},
                              sort_keys=True)
        finally:
            sys.stdout = real_stdout
            sys.stderr = saved_stderr
        real_stdout.write(line + '\n')
        real_stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

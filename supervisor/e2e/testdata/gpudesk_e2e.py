"""pytest plug-in: run Python supervisor's end-to-end suite on other binaries.

supervisor/tests/test_end_to_end.py starts the daemon and the control
program as ``pexpect.spawn(sys.executable, ['-m', 'supervisor.supervisord',
...])`` (and ``supervisor.supervisorctl``), once inside a ``/bin/sh -c``
command line. Loaded with ``-p gpudesk_e2e``, this plug-in replaces
``pexpect.spawn`` with a subclass that starts the binary named by
GPUDESK_E2E_SUPERVISORD / GPUDESK_E2E_SUPERVISORCTL instead (an unset
variable keeps Python's program), so the suite itself runs unmodified.

The fixtures start their children as ``python .../x.py``; Debian has no
``python`` unless python-is-python3 is installed, so a folder holding a
``python`` link to the interpreter running the suite goes first on PATH.
"""

import os
import shlex
import sys
import tempfile

import pexpect

_MODULES = {
    'supervisor.supervisord': 'GPUDESK_E2E_SUPERVISORD',
    'supervisor.supervisorctl': 'GPUDESK_E2E_SUPERVISORCTL',
}


def _replacement(module):
    """The binary that stands in for ``python -m module``, or None."""
    var = _MODULES.get(module)
    return os.environ.get(var) if var else None


def _map_argv(command, args):
    if command == sys.executable and len(args) >= 2 and args[0] == '-m':
        binary = _replacement(args[1])
        if binary:
            return binary, list(args[2:])
    return command, args


def _map_shell(line):
    """Rewrite "'python' -m supervisor.x ..." at the start of a sh -c line."""
    for module in _MODULES:
        prefix = '%s -m %s' % (shlex.quote(sys.executable), module)
        quoted = "'%s' -m %s" % (sys.executable, module)
        binary = _replacement(module)
        if not binary:
            continue
        for p in (quoted, prefix):
            if line.startswith(p):
                return shlex.quote(binary) + line[len(p):]
    return line


_Spawn = pexpect.spawn


class _MappedSpawn(_Spawn):
    def __init__(self, command, args=[], *rest, **kwargs):
        command, args = _map_argv(command, list(args))
        if command in ('/bin/sh', 'sh') and len(args) == 2 and args[0] == '-c':
            args = ['-c', _map_shell(args[1])]
        _Spawn.__init__(self, command, args, *rest, **kwargs)


def _python_on_path():
    folder = tempfile.mkdtemp(prefix='gpudesk-e2e-python')
    os.symlink(sys.executable, os.path.join(folder, 'python'))
    os.environ['PATH'] = folder + os.pathsep + os.environ.get('PATH', '')


def pytest_configure(config):
    pexpect.spawn = _MappedSpawn
    os.environ.setdefault('END_TO_END', '1')
    _python_on_path()

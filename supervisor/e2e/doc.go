// Package e2e runs Python supervisor's own end-to-end suite
// (supervisor/tests/test_end_to_end.py, as Debian installs it) against our
// supervisord and supervisorctl, paired with Python's and with each other.
// The pytest plug-in testdata/gpudesk_e2e.py maps the suite's
// "python -m supervisor.supervisord" / "supervisorctl" spawns onto our
// binaries; the suite itself runs unmodified. There is no library code here.
package e2e

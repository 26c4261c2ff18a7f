#!/bin/sh
# The image's entrypoint, kept for templates that run `init.sh KEY=VAL ...`:
# provisioner boot does the work and execs supervisord as PID 1.
exec provisioner boot "$@"

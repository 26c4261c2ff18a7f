#!/bin/sh
# The image's entrypoint, kept for templates that run `init.sh KEY=VAL ...`:
# provisioner boot does the work and execs supervisord as PID 1.
if [ ! -x /usr/local/bin/cloudflared ]; then
  # Built without CLOUDFLARED_URL/CLOUDFLARED_SHA256: say so at every boot,
  # and keep the quick tunnels off unless asked for.
  echo "init.sh: this image was built without cloudflared: Cloudflare tunnels (CF_TUNNEL_TOKEN, CF_QUICK_TUNNELS) are unavailable" >&2
  : "${CF_QUICK_TUNNELS:=false}"
  export CF_QUICK_TUNNELS
fi
exec provisioner boot "$@"

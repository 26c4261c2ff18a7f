#!/bin/bash
# The desktop layer's build hook (run by the Dockerfiles after the root
# overlays): the build fails here, naming what is missing, rather than a
# container showing a broken desktop later.
set -euo pipefail
missing=0
for f in /usr/bin/Xvnc /usr/bin/dbus-daemon /usr/bin/dbus-send /usr/bin/startplasma-x11 /usr/bin/plasmashell \
  /usr/bin/kwin_x11 /usr/bin/websockify /usr/bin/setpriv /usr/bin/getent /opt/gpudesk/bin/desktop; do
  [ -x "$f" ] || { echo "desktop build hook: $f is missing (images/desktop/packages)" >&2; missing=1; }
done
# noVNC's landing folder links into the novnc package's files, whose
# layout differs between releases (1.0 in Ubuntu 22.04, 1.3 in Debian
# bookworm and Ubuntu 24.04).
for f in /opt/gpudesk/share/novnc/*; do
  [ -e "$f" ] || { echo "desktop build hook: $f links to $(readlink "$f"), which the novnc package did not install" >&2; missing=1; }
done
[ "$missing" = 0 ]
echo "desktop build hook: the desktop's programs and noVNC's files are in place"

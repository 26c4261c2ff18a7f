# The container's environment for login shells, written at every boot by
# provisioner boot (secrets are not in it). The path is ai-dock's, kept for
# existing scripts.
if [ -r /opt/ai-dock/etc/environment.sh ]; then
  . /opt/ai-dock/etc/environment.sh
fi

// Package sshd holds no code: the images run Debian's OpenSSH server with
// images/base/etc/ssh/sshd_config (conf.d/sshd.conf). Its tests run that
// file under the real sshd and ssh on a loopback port, with the keys and
// host keys that a real provisioner boot (in a throw-away root made by
// services/provisioner/boottest) installs, and load conf.d/sshd.conf in
// our supervisord and in Python supervisor 4.2.5.
package sshd

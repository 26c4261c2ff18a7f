// Package sshd holds no code: the images run Debian's OpenSSH server with
// images/base/etc/ssh/sshd_config (conf.d/sshd.conf). Its tests run that
// file under the real sshd and ssh on a loopback port, with the keys and
// host keys that provisioner boot installs.
package sshd

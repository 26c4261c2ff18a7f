package process

import (
	"syscall"
	"testing"
)

// Both ways of hiding the descriptors a daemon inherited leave each of
// them close-on-exec: close_range (Linux 5.11 and later) and the walk of
// /proc/self/fd used before it.
func TestHideInherited(t *testing.T) {
	for name, hide := range map[string]func() error{"close_range": HideInherited, "listed": hideListed} {
		var p [2]int
		if err := syscall.Pipe(p[:]); err != nil { // no O_CLOEXEC: as inherited
			t.Fatal(err)
		}
		if err := hide(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, fd := range p {
			flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
			if errno != 0 || flags&syscall.FD_CLOEXEC == 0 {
				t.Errorf("%s: descriptor %d: flags %#x, errno %v; want FD_CLOEXEC", name, fd, flags, errno)
			}
			syscall.Close(fd)
		}
	}
}

package process

import (
	"math"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// HideInherited marks every descriptor from 3 up close-on-exec, so that
// no child gets one: Python's supervisord closes descriptors 3 to minfds
// in each child before its exec. Ours are all opened close-on-exec, but
// what the daemon inherited (a pipe of the shell or tool that started it,
// a socket of a container runtime) is not, and a child holding the write
// end of its starter's pipe would keep that reader from ever seeing its
// end. Marking them once costs nothing per spawn (closing thousands of
// descriptors in each child is much of why Python spawns slowly). Call it
// before the first spawn.
func HideInherited() error {
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	return hideListed() // before Linux 5.11
}

// hideListed is HideInherited one descriptor at a time.
func hideListed() error {
	ents, derr := os.ReadDir("/proc/self/fd")
	if derr != nil {
		return derr
	}
	for _, e := range ents {
		fd, aerr := strconv.Atoi(e.Name())
		if aerr != nil || fd < 3 {
			continue
		}
		// The listing's own descriptor is gone by now: EBADF is fine.
		if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC); errno != 0 && errno != syscall.EBADF {
			return os.NewSyscallError("fcntl", errno)
		}
	}
	return nil
}

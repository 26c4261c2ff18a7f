package main

// -ready-checks: every sleeping program carries ready=tcp:ADDR (an
// extension Python ignores), ADDR being a listener of benchrun's that
// accepts and closes, so the idle figures of ours include a thousand
// readiness checks kept up to date (every ready_interval, 10 s) next to
// Python's daemon with the same programs and no checks.

import (
	"fmt"
	"net"
)

// readyListener starts the listener the checks connect to and returns its
// address.
func readyListener() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening for the ready checks: %w", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String(), nil
}

// readyLine is the line added to every sleeping program ("" without
// -ready-checks).
func readyLine(addr string) string {
	if addr == "" {
		return ""
	}
	return "ready=tcp:" + addr + "\n"
}

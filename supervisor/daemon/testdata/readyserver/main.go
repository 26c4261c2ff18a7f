// Command readyserver is a supervised program for the readiness tests: a
// TCP server that opens its port after a delay, having first checked
// that the port it depends on is already open (a start out of order is
// written to a file, which the test expects empty).
//
//	readyserver NAME PORT DELAY_MS NEED_PORT|- VIOLATIONS_FILE
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: readyserver NAME PORT DELAY_MS NEED_PORT|- VIOLATIONS_FILE")
		os.Exit(2)
	}
	name, port, need, violations := os.Args[1], os.Args[2], os.Args[4], os.Args[5]
	delay, _ := strconv.Atoi(os.Args[3])
	if need != "-" {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+need, 5*time.Second)
		if err != nil {
			f, ferr := os.OpenFile(violations, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if ferr == nil {
				fmt.Fprintf(f, "%s started before port %s was open: %v\n", name, need, err)
				f.Close()
			}
		} else {
			c.Close()
		}
	}
	time.Sleep(time.Duration(delay) * time.Millisecond)
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
}

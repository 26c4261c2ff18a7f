package ready

import (
	"context"
	"net"
	"testing"
	"time"
)

// BenchmarkCheck_Run_tcp is the cost of one tcp: check against a local
// listener (what supervisord pays per program per ready_interval).
func BenchmarkCheck_Run_tcp(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c, err := Parse("tcp:" + l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Run(ctx, Options{}); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchConf is a supervisord.conf with n programs as scripts/bench runs
// them, each with a few of the options real conf.d files set.
func benchConf(dir string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[unix_http_server]
file=%[1]s/supervisor.sock

[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
minfds=10000
minprocs=3000

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock
`, dir)
	for i := range n {
		fmt.Fprintf(&b, `
[program:p%04d]
command=/bin/sleep 3600
directory=%%(here)s
environment=NAME="%%(program_name)s",INDEX="%d"
priority=%d
startsecs=0
autorestart=false
stopasgroup=true
stdout_logfile=NONE
stderr_logfile=NONE
`, i, i, 100+i%10)
	}
	return b.String()
}

// BenchmarkLoad parses and validates a configuration of 1,000 programs.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("programs=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "supervisord.conf")
			if err := os.WriteFile(path, []byte(benchConf(dir, n)), 0o644); err != nil {
				b.Fatal(err)
			}
			opts := Options{Environ: []string{"HOME=/root", "PATH=/usr/bin:/bin"}, Hostname: "box"}
			b.ReportAllocs()
			for b.Loop() {
				cfg, err := LoadWith(path, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(cfg.Groups) != n {
					b.Fatalf("%d groups, want %d", len(cfg.Groups), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/program")
		})
	}
}

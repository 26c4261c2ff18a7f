// Command supervisorctl is a drop-in replacement for Python supervisor's
// supervisorctl. See the project README for its commands.
package main

import (
	"os"

	"github.com/gpudesk/runtime/supervisor/ctl"
)

func main() {
	os.Exit(ctl.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// Command supervisord is a drop-in replacement for Python supervisor's
// supervisord. See the project README for its flags.
package main

import (
	"os"

	"github.com/gpudesk/runtime/supervisor/cli"
)

func main() {
	os.Exit(cli.Supervisord(os.Args, os.Stdout, os.Stderr))
}

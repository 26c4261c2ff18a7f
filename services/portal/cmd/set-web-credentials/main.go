// Command set-web-credentials changes the web login of a running
// container: set-web-credentials [--new-token] USER [PASSWORD|-]. The
// portal picks the new credentials up at once; sessions made with the old
// ones end. It is `portal set-web-credentials` under its own name, as
// ai-dock's script was.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/gpudesk/runtime/services/portal"
)

func main() {
	err := portal.SetWebCredentials(os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout)
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "set-web-credentials: %v\n", err)
	if errors.Is(err, portal.ErrUsage) {
		os.Exit(2)
	}
	os.Exit(1)
}

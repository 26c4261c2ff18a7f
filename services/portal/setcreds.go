package portal

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

// SetWebCredentials is `set-web-credentials [--root DIR] [--new-token]
// USER [PASSWORD|-]`: it rewrites the credentials file, which the running
// portal reads again at its next check, so every session made with the old
// credentials ends and nothing restarts. Without PASSWORD (or with "-")
// the password is read from the first line of stdin, so it need not
// appear in ps or the shell history. The token is kept unless --new-token
// asks for a new one (printed once).
func SetWebCredentials(args []string, lookup func(string) (string, bool), stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("set-web-credentials", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", "/", "root the credentials file is under")
	newToken := fs.Bool("new-token", false, "make a new WEB_TOKEN too")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: set-web-credentials: %w", ErrUsage, err)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return fmt.Errorf("%w: set-web-credentials USER [PASSWORD|-]", ErrUsage)
	}
	user := fs.Arg(0)
	if user == "" || strings.ContainsAny(user, ":\r\n") {
		return fmt.Errorf("%w: set-web-credentials: user %q: not empty, no ':' or line break", ErrUsage, user)
	}
	pass := fs.Arg(1)
	if pass == "" || pass == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("set-web-credentials: reading the password from stdin: %w", err)
		}
		pass = strings.TrimRight(line, "\r\n")
	}
	if len(pass) < 8 {
		return fmt.Errorf("%w: set-web-credentials: the password must have at least 8 characters", ErrUsage)
	}
	path := filepath.Join(*root, webcreds.File)
	in := webcreds.Input{User: user, Password: pass, AuthEnabled: true}
	if old, err := webcreds.Read(path); err == nil {
		in.AuthEnabled = old.AuthEnabled
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("set-web-credentials: %w", err)
	}
	if *newToken {
		tok, err := webcreds.Random(32)
		if err != nil {
			return err
		}
		in.Token = tok
	}
	res, err := webcreds.Ensure(path, in)
	if err != nil {
		return fmt.Errorf("set-web-credentials: %w", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	switch {
	case *newToken:
		fmt.Fprintf(stdout, "new WEB_TOKEN (shown once): %s\n", in.Token)
	case res.Token != "":
		fmt.Fprintf(stdout, "new WEB_TOKEN (shown once): %s\n", res.Token)
	}
	if res.Changed {
		fmt.Fprintf(stdout, "web credentials of %s set; sessions made before have ended\n", user)
	} else {
		fmt.Fprintf(stdout, "web credentials of %s unchanged\n", user)
	}
	return nil
}

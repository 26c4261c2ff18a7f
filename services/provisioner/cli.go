package provisioner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/services/provisioner/secrets"
)

const usage = `usage: provisioner boot [--root DIR] [--supervisord PATH] [--conf FILE] [NAME=VALUE ...]
       provisioner run [--root DIR]
       provisioner sync [--root DIR]
       provisioner exec-with-secret [--root DIR] [--user NAME] [--all] [--prefix P] [VAR[=SECRET] ...] -- COMMAND [ARG ...]

boot              the container's entrypoint (init.sh execs it): sets up the
                  environment, workspace, user, SSH keys, web credentials,
                  GPUs and autostart toggles, then execs supervisord -n
run               fetches and runs the provisioning script (a supervised program)
sync              moves the OPT_SYNC folders of /opt onto a mounted workspace
                  and removes /run/workspace_sync (a supervised program)
exec-with-secret  runs COMMAND with the stored secret SECRET (default: VAR)
                  in its environment as VAR, as NAME when --user is given;
                  --all adds every stored secret (for logtail's redaction)
                  --prefix P adds every stored secret whose name starts with P
                  (rclone: --prefix RCLONE_CONFIG_)

  --root DIR          every path below DIR (default /)
  --supervisord PATH  the supervisord boot execs (default /usr/local/bin/supervisord)
  --conf FILE         its configuration (default DIR/etc/supervisor/supervisord.conf)
`

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// execve replaces the process; tests of Main never reach it.
var execve = syscall.Exec

// Main runs the provisioner command with args (without the program name)
// and returns the exit status; boot and exec-with-secret do not return
// when they succeed (they exec).
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	case "boot":
		return mainBoot(ctx, rest, environ, stdout, stderr)
	case "run":
		return mainRun(ctx, rest, environ, stdout, stderr)
	case "sync":
		return mainSync(ctx, rest, environ, stdout, stderr)
	case "exec-with-secret":
		return mainExecWithSecret(rest, environ, stderr)
	}
	fmt.Fprintf(stderr, "provisioner: unknown command %q\n%s", cmd, usage)
	return ExitUsage
}

// boolFlags take no value.
var boolFlags = map[string]bool{"all": true}

// flags reads the leading --name VALUE / --name=VALUE options of args
// (only those in allowed) and returns the rest. "--" ends them and stays
// in the rest: exec-with-secret reads it as the start of the command.
func flags(args []string, allowed ...string) (map[string]string, []string, error) {
	out := map[string]string{}
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return out, args, nil
		}
		if !strings.HasPrefix(a, "--") {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		ok := false
		for _, n := range allowed {
			ok = ok || n == name
		}
		if !ok {
			return nil, nil, fmt.Errorf("unknown option --%s", name)
		}
		args = args[1:]
		if !hasVal && boolFlags[name] {
			val, hasVal = "true", true
		}
		if !hasVal {
			if len(args) == 0 {
				return nil, nil, fmt.Errorf("option --%s needs a value", name)
			}
			val, args = args[0], args[1:]
		}
		out[name] = val
	}
	return out, args, nil
}

func mainBoot(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fl, rest, err := flags(args, "root", "supervisord", "conf")
	if err != nil {
		fmt.Fprintf(stderr, "provisioner boot: %v\n%s", err, usage)
		return ExitUsage
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	plan, err := Boot(ctx, BootOptions{
		Root: fl["root"], Supervisord: fl["supervisord"], Conf: fl["conf"],
		Args: rest, Environ: environ, Console: stdout, Log: stderr,
		SetUmask: func(m int) { syscall.Umask(m) },
	})
	if err != nil {
		if !errors.Is(err, ErrFatal) {
			fmt.Fprintf(stderr, "provisioner boot: %v\n", err)
		}
		return ExitError
	}
	if err := execve(plan.Path, plan.Argv, plan.Environ); err != nil {
		fmt.Fprintf(stderr, "provisioner boot: exec %s: %v\n", plan.Path, err)
	}
	return ExitError
}

func mainExecWithSecret(args, environ []string, stderr io.Writer) int {
	fl, rest, err := flags(args, "root", "user", "all", "prefix")
	if err != nil {
		fmt.Fprintf(stderr, "provisioner exec-with-secret: %v\n%s", err, usage)
		return ExitUsage
	}
	root := fl["root"]
	if root == "" {
		root = "/"
	}
	spec := secrets.ExecSpec{Root: root, Store: secrets.Store{Dir: joinRoot(root, secrets.Dir)}, User: fl["user"], Environ: environ}
	for i, a := range rest {
		if a == "--" {
			spec.Argv = rest[i+1:]
			break
		}
		v, s, ok := strings.Cut(a, "=")
		if !ok {
			s = v
		}
		spec.Pairs = append(spec.Pairs, [2]string{v, s})
	}
	if len(spec.Argv) == 0 {
		fmt.Fprintf(stderr, "provisioner exec-with-secret: no -- COMMAND\n%s", usage)
		return ExitUsage
	}
	switch fl["all"] {
	case "":
	case "true":
		// Every stored secret (logtail: it redacts their values).
		names, err := spec.Store.Names()
		if err != nil {
			fmt.Fprintf(stderr, "provisioner exec-with-secret: %v\n", err)
			return ExitError
		}
		for _, n := range names {
			spec.Pairs = append(spec.Pairs, [2]string{n, n})
		}
	default:
		fmt.Fprintf(stderr, "provisioner exec-with-secret: --all takes no value other than true\n%s", usage)
		return ExitUsage
	}
	if prefix := fl["prefix"]; prefix != "" {
		// Every stored secret of a family (rclone: RCLONE_CONFIG_), and no
		// other.
		names, err := spec.Store.Names()
		if err != nil {
			fmt.Fprintf(stderr, "provisioner exec-with-secret: %v\n", err)
			return ExitError
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				spec.Pairs = append(spec.Pairs, [2]string{n, n})
			}
		}
	}
	if err := secrets.Exec(spec); err != nil {
		fmt.Fprintf(stderr, "provisioner exec-with-secret: %v\n", err)
	}
	return ExitError
}

func joinRoot(root, p string) string {
	return strings.TrimSuffix(root, "/") + "/" + p
}

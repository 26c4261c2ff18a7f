package gpuprobe

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `usage: gpu-probe [--root DIR] [--json | --env] [--live]

Finds the NVIDIA, AMD and Intel GPUs (PCI bus, driver files, device nodes),
applies GPU_COUNT and reports them: a table by default, --json for the
document the portal reads, --env for shell export lines.

  --root DIR   read every file under DIR (default: $GHW_CHROOT, else /)
  --json       print the JSON report (schema in README.md, "gpu-probe")
  --env        print export lines: GPU_COUNT, XPU_TARGET, GPU_VENDOR and the
               visible-device variables; safe to eval
  --live       add memory and utilisation from nvidia-smi / rocm-smi
               (each given 5 s; absent tools are skipped)

Exit status: 0 with a report (warnings go to stderr), 1 when DIR cannot be
read, output fails or a signal (SIGTERM, SIGINT) stops the probe, 2 on a
usage error.
`

// Main runs gpu-probe with its arguments (without the program name) and
// returns the exit status. Warnings go to stderr as "gpu-probe: warning: ...".
func Main(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("gpu-probe", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	root := fl.String("root", "", "")
	asJSON := fl.Bool("json", false, "")
	asEnv := fl.Bool("env", false, "")
	live := fl.Bool("live", false, "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "gpu-probe: %v\n%s", err, usage)
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "gpu-probe: unexpected argument %q\n%s", fl.Arg(0), usage)
		return 2
	}
	if *asJSON && *asEnv {
		fmt.Fprintf(stderr, "gpu-probe: --json and --env cannot be used together\n%s", usage)
		return 2
	}
	if *root == "" {
		if v, ok := lookupEnv("GHW_CHROOT"); ok && v != "" {
			*root = v
		}
	}
	if *root == "" {
		*root = "/"
	}

	report, err := probeUntilDone(ctx, Options{Root: *root, LookupEnv: lookupEnv, Live: *live})
	if err != nil {
		fmt.Fprintf(stderr, "gpu-probe: %v\n", err)
		return 1
	}
	for _, msg := range report.Warnings {
		fmt.Fprintf(stderr, "gpu-probe: warning: %s\n", strings.ReplaceAll(msg, "\n", " "))
	}
	switch {
	case *asJSON:
		err = report.WriteJSON(stdout)
	case *asEnv:
		err = report.WriteEnv(stdout)
	default:
		err = report.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gpu-probe: writing the report: %v\n", err)
		return 1
	}
	return 0
}

// probe is Probe; tests replace it with one that never returns.
var probe = Probe

// probeUntilDone runs probe, but returns as soon as ctx is done (SIGTERM)
// even if probe does not: a read that blocks in the kernel (a hung FUSE or
// NFS mount under --root) cannot be interrupted, so its goroutine is
// abandoned and the process exits without it.
func probeUntilDone(ctx context.Context, opts Options) (*Report, error) {
	type result struct {
		r   *Report
		err error
	}
	done := make(chan result, 1)
	run := probe // read here, not in the goroutine that may outlive the call
	go func() {
		r, err := run(ctx, opts)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped before the probe of %s finished: %w", opts.Root, context.Cause(ctx))
	}
}

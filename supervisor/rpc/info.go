package rpc

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// getProcessInfo, getAllProcessInfo and getAllConfigInfo, with
// supervisor's descriptions and uptimes.

// capped is supervisor's capped_int: times in the int32 range.
func capped(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	v := t.Unix()
	return max(min(v, math.MaxInt32), math.MinInt32)
}

// info is getProcessInfo's struct for one process. Runs on the loop.
func info(t target, now time.Time) map[string]any {
	p := t.p
	state := p.State()
	out := map[string]any{
		"name":           p.Name(),
		"group":          t.g.Config.Name,
		"start":          capped(p.LastStart()),
		"stop":           capped(p.LastStop()),
		"now":            capped(now),
		"state":          int(state),
		"statename":      state.String(),
		"spawnerr":       p.SpawnErr(),
		"exitstatus":     p.ExitStatus(),
		"logfile":        p.LogPath(false),
		"stdout_logfile": p.LogPath(false),
		"stderr_logfile": p.LogPath(true),
		"pid":            p.PID(),
	}
	out["description"] = Describe(state, out["start"].(int64), out["stop"].(int64), out["now"].(int64), p.PID(), p.SpawnErr(), p.Name())
	if note := p.Note(); note != "" {
		// STARTING while it waits for its dependencies or its ready
		// check (Python's description is empty there).
		out["description"] = note
	}
	return out
}

// Describe is the description supervisor shows for a process: its pid and
// uptime when RUNNING, the spawn error when BACKOFF or FATAL, the stop
// time (or "Not started") when STOPPED or EXITED.
func Describe(state process.State, start, stop, now int64, pid int, spawnErr, name string) string {
	switch state {
	case process.Running:
		up := now - start
		if up < 0 {
			up = 0
		}
		return fmt.Sprintf("pid %d, uptime %s", pid, uptime(up))
	case process.Fatal, process.Backoff:
		if spawnErr == "" {
			return fmt.Sprintf("unknown error (try \"tail %s\")", name)
		}
		return spawnErr
	case process.Stopped, process.Exited:
		if start == 0 {
			return "Not started"
		}
		return time.Unix(stop, 0).Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// uptime formats seconds as Python's str(timedelta): "1 day, 2:03:04".
func uptime(secs int64) string {
	days, rest := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", rest/3600, rest%3600/60, rest%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}

func (s *Server) getProcessInfo(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err == nil {
			out = info(t, time.Now())
		}
		return err
	})
	return out, err
}

func (s *Server) getAllProcessInfo(ctx context.Context, _ []any) (any, error) {
	var out []any
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		now := time.Now()
		for _, t := range lexical(s.d.Groups()) {
			out = append(out, info(t, now))
		}
		return nil
	})
	if out == nil {
		out = []any{}
	}
	return out, err
}

func (s *Server) getAllConfigInfo(ctx context.Context, _ []any) (any, error) {
	var out []map[string]any
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		for _, gc := range s.d.KnownGroups() {
			running := s.d.Group(gc.Name)
			for i, pc := range gc.Processes {
				var live *process.Process
				if running != nil && i < len(running.Processes) {
					live = running.Processes[i]
				}
				out = append(out, configInfo(gc, pc, running != nil, live))
			}
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	res := make([]any, len(out))
	for i := range out {
		res[i] = out[i]
	}
	return res, err
}

func configInfo(gc *config.Group, pc *config.Process, inuse bool, live *process.Process) map[string]any {
	orNone := func(v any, ok bool) any {
		if !ok {
			return "none"
		}
		return v
	}
	logName := func(o config.OutputLog, stderr bool) any {
		switch o.Kind {
		case config.LogNone:
			return "none"
		case config.LogAuto:
			if live != nil && live.LogPath(stderr) != "" {
				return live.LogPath(stderr)
			}
			return "auto"
		}
		return o.Path
	}
	dir, hasDir := "", pc.Directory != nil
	if hasDir {
		dir = *pc.Directory
	}
	url, hasURL := "", pc.ServerURL != nil
	if hasURL {
		url = *pc.ServerURL
	}
	codes := []any{}
	for _, c := range pc.ExitCodes {
		codes = append(codes, c)
	}
	return map[string]any{
		"autostart": pc.Autostart, "directory": orNone(dir, hasDir), "uid": orNone(pc.UID, pc.UID >= 0),
		"command": pc.Command, "exitcodes": codes, "group": gc.Name, "group_prio": gc.Priority,
		"inuse": inuse, "killasgroup": pc.KillAsGroup, "name": pc.Name, "process_prio": pc.Priority,
		"redirect_stderr": pc.RedirectStderr, "startretries": pc.StartRetries, "startsecs": pc.StartSecs,
		"stdout_capture_maxbytes": pc.Stdout.CaptureMaxBytes, "stdout_events_enabled": pc.Stdout.EventsEnabled,
		"stdout_logfile": logName(pc.Stdout, false), "stdout_logfile_backups": pc.Stdout.Backups,
		"stdout_logfile_maxbytes": pc.Stdout.MaxBytes, "stdout_syslog": pc.Stdout.Syslog,
		"stopsignal": pc.StopSignal, "stopwaitsecs": pc.StopWaitSecs,
		"stderr_capture_maxbytes": pc.Stderr.CaptureMaxBytes, "stderr_events_enabled": pc.Stderr.EventsEnabled,
		"stderr_logfile": logName(pc.Stderr, true), "stderr_logfile_backups": pc.Stderr.Backups,
		"stderr_logfile_maxbytes": pc.Stderr.MaxBytes, "stderr_syslog": pc.Stderr.Syslog,
		"serverurl": orNone(url, hasURL),
	}
}

// processOf resolves a name to one process, on the loop, after the mood
// check; a group name is BAD_NAME.
func (s *Server) processOf(name string) (target, error) {
	if err := s.checkMood(); err != nil {
		return target{}, err
	}
	g, p, err := s.lookup(name)
	if err != nil {
		return target{}, err
	}
	if p == nil {
		return target{}, fault(BadName, name)
	}
	return target{g, p}, nil
}

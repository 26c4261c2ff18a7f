package daemon

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// watchDebounce is how long the watcher waits after the last file event
// before reading the configuration: editors write a temporary file and
// rename it, or truncate and write, in several steps.
const watchDebounce = 300 * time.Millisecond

// startWatch watches the main file, the included files and the include
// folders when [supervisord] watch_config=true. Events reach the loop on
// d.watchEvents. The goroutine reading the watcher gets everything it uses
// as arguments, so that a reload can replace the daemon's fields, and
// stopWatch waits for it to end.
func (d *Daemon) startWatch() {
	if !d.cfg.Supervisord.WatchConfig || d.watcher != nil {
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Log(config.LevelError, "watch_config: cannot watch the configuration: %v", err)
		return
	}
	d.watcher = w
	d.watchEvents = make(chan struct{}, 1)
	d.rewatch()
	d.watchWG.Add(1)
	go func(w *fsnotify.Watcher, events chan<- struct{}, log *Logger) {
		defer d.watchWG.Done()
		forwardWatchEvents(w, events, log)
	}(w, d.watchEvents, d.log)
}

// forwardWatchEvents turns the watcher's events into a wake-up of the
// loop (one pending at most) until the watcher is closed.
func forwardWatchEvents(w *fsnotify.Watcher, events chan<- struct{}, log *Logger) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			base := filepath.Base(ev.Name)
			if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") || strings.HasSuffix(base, ".swp") {
				continue // editors' temporary and backup files
			}
			select {
			case events <- struct{}{}:
			default:
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Log(config.LevelWarn, "watch_config: %v", err)
		}
	}
}

// rewatch watches every folder the configuration comes from.
func (d *Daemon) rewatch() {
	dirs := map[string]bool{filepath.Dir(absPath(d.cfg.File)): true}
	for _, f := range d.cfg.Included {
		dirs[filepath.Dir(absPath(f))] = true
	}
	for _, p := range d.cfg.IncludePatterns {
		dir := filepath.Dir(p)
		if !strings.ContainsAny(dir, "*?[") {
			dirs[dir] = true
		}
	}
	watched := map[string]bool{}
	for _, w := range d.watcher.WatchList() {
		watched[w] = true
	}
	for dir := range dirs {
		if !watched[dir] {
			if err := d.watcher.Add(dir); err != nil {
				d.log.Log(config.LevelWarn, "watch_config: cannot watch %s: %v", dir, err)
			}
		}
	}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// stopWatch closes the watcher and waits until its goroutine has ended,
// before a reload replaces the log and the configuration, or Run returns.
func (d *Daemon) stopWatch() {
	if d.watcher == nil {
		return
	}
	d.watcher.Close() // closes Events and Errors: the goroutine returns
	d.watchWG.Wait()
	d.watcher = nil
	d.watchEvents = nil
}

// applyEdit reads the configuration after a change and applies the
// difference as `supervisorctl update` does. A bad configuration changes
// nothing that runs; its error is logged once.
func (d *Daemon) applyEdit(now time.Time) {
	cfg, err := d.opts.Reload()
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		if msg != d.lastWatchErr {
			d.log.Log(config.LevelError, "watch_config: not applying the edit, the running configuration stays: %s", msg)
			d.lastWatchErr = msg
		}
		return
	}
	d.lastWatchErr = ""
	if !sameDaemonSettings(d.cfg, cfg) {
		d.log.Log(config.LevelWarn, "watch_config: changes to [supervisord], [unix_http_server], [inet_http_server] or [rpcinterface:x] take effect at the next restart (supervisorctl reload or SIGHUP)")
	}
	next := *d.cfg
	next.Groups, next.Included, next.IncludePatterns = cfg.Groups, cfg.Included, cfg.IncludePatterns
	d.cfg = &next
	d.known = cfg.Groups
	added, changed, removed := d.diff(cfg.Groups)
	for _, name := range removed {
		d.pending[name] = nil
	}
	for _, name := range changed {
		for _, g := range cfg.Groups {
			if g.Name == name {
				d.pending[name] = g
			}
		}
	}
	for _, name := range added {
		if err := d.AddGroup(name); err != nil {
			d.log.Log(config.LevelError, "watch_config: %s: %v", name, err)
			continue
		}
		d.log.Log(config.LevelInfo, "watch_config: %s: added process group", name)
	}
	d.rewatch()
	d.applyPending(now)
}

// applyPending stops the groups being removed or replaced, and once all
// their processes are stopped removes them (and adds the new version).
func (d *Daemon) applyPending(now time.Time) {
	names := make([]string, 0, len(d.pending))
	for n := range d.pending {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		replacement := d.pending[name]
		g := d.group(name)
		if g == nil {
			delete(d.pending, name)
			continue
		}
		stopped := true
		for _, p := range g.Processes {
			switch p.State() {
			case process.Running, process.Starting, process.Backoff:
				p.Stop(now)
			}
			if !p.State().IsStopped() {
				stopped = false
			}
		}
		if !stopped {
			continue
		}
		delete(d.pending, name)
		if err := d.RemoveGroup(name); err != nil {
			continue
		}
		if replacement == nil {
			d.log.Log(config.LevelInfo, "watch_config: %s: removed process group", name)
			continue
		}
		if err := d.AddGroup(name); err != nil {
			d.log.Log(config.LevelError, "watch_config: %s: %v", name, err)
			continue
		}
		d.log.Log(config.LevelInfo, "watch_config: %s: updated process group", name)
	}
}

// diff compares groups with the running ones.
func (d *Daemon) diff(groups []*config.Group) (added, changed, removed []string) {
	cur := map[string]*config.Group{}
	for _, g := range d.groups {
		cur[g.Config.Name] = g.Config
	}
	next := map[string]bool{}
	for _, g := range groups {
		next[g.Name] = true
		old, ok := cur[g.Name]
		switch {
		case !ok:
			added = append(added, g.Name)
		case !SameGroup(old, g):
			changed = append(changed, g.Name)
		}
	}
	for _, g := range d.groups {
		if !next[g.Config.Name] {
			removed = append(removed, g.Config.Name)
		}
	}
	return added, changed, removed
}

// sameDaemonSettings compares what only a restart can change.
func sameDaemonSettings(a, b *config.Config) bool {
	return reflect.DeepEqual(a.Supervisord, b.Supervisord) &&
		reflect.DeepEqual(a.InetServers, b.InetServers) &&
		reflect.DeepEqual(a.UnixServers, b.UnixServers) &&
		reflect.DeepEqual(a.RPCInterfaces, b.RPCInterfaces)
}

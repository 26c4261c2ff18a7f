package provisioner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gpudesk/runtime/services/portal/registry"
)

// stepPortalApps turns Vast's PORTAL_CONFIG
// ("localhost:8080:18080:/:Jupyter|…") into registrations in
// /run/http_ports, so those applications get a card, a Caddy site behind
// the login and a quick tunnel like any registered service. An entry whose
// external and internal ports are equal is the application on the public
// port itself: Caddy cannot serve that port, so it gets no registration
// and a warning says it is reached without the login. A registration
// file already there for the port (the application's own) is left alone.
func (b *boot) stepPortalApps(context.Context) ([]string, error) {
	v := b.e.Get("PORTAL_CONFIG")
	if v == "" {
		return nil, nil
	}
	apps, errs := registry.ParsePortalConfig(v)
	var warn []string
	for _, err := range errs {
		warn = append(warn, err.Error())
	}
	dir := b.path(HTTPPorts)
	for _, app := range apps {
		port := strconv.Itoa(app.Reg.PublicPort)
		if app.Direct {
			warn = append(warn, fmt.Sprintf("PORTAL_CONFIG %q: external port = internal port %s: the application serves that port itself, without the portal's login; no Caddy site", app.Reg.Name, port))
			continue
		}
		path := filepath.Join(dir, port)
		if _, err := os.Lstat(path); err == nil {
			continue
		}
		tmp := filepath.Join(dir, "."+port+".tmp") // Scan skips dot files
		if err := os.WriteFile(tmp, app.Reg.File(), 0o644); err != nil {
			return warn, fmt.Errorf("writing the registration of PORTAL_CONFIG %q: %w", app.Reg.Name, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return warn, fmt.Errorf("writing the registration of PORTAL_CONFIG %q: %w", app.Reg.Name, err)
		}
	}
	return warn, nil
}

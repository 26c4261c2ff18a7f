// Command caddy is the Caddy of the gpudesk images: the upstream binary
// with its standard modules, built from the version pinned in go.mod so
// every base (Ubuntu 22.04 has no caddy package, 24.04 and Debian ship
// different ones) runs the same Caddy the portal is tested against.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard modules, as the official build has them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}

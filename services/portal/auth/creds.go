// Package auth is the portal's login for every web service: credentials
// from the provisioner's root-only file, HMAC-signed session cookies, the
// bearer token, HTTP Basic, rate-limited password checks, and the
// forward-auth answer Caddy asks for on every proxied request.
//
// bcrypt runs only when a password is presented (the login form, or a
// Basic header not seen before), behind the rate limiter; everything on
// the per-request path is an HMAC or a SHA-256 compared in constant time.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

// credState is one reading of the credentials file.
type credState struct {
	creds webcreds.Credentials
	err   error
	stamp fileStamp
	// gen identifies this version of the credentials; it is mixed into
	// every session's MAC, so rotating them ends every session.
	gen []byte
}

type fileStamp struct {
	ok         bool
	dev, ino   uint64
	size       int64
	mtime, ctm time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	s := fileStamp{ok: true, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
		s.ctm = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return s
}

// credStore reads the credentials file again whenever it changes (a stat
// per check: a rename by set-web-credentials takes effect at once).
type credStore struct {
	path string
	key  []byte
	mu   sync.Mutex
	cur  *credState
}

// ErrNoCredentials says the credentials file is missing: nobody can log
// in with a password (the bearer token cannot match either).
var ErrNoCredentials = errors.New("no web credentials")

func (s *credStore) get() *credState {
	st := stampOf(s.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.stamp == st {
		return s.cur
	}
	cs := &credState{stamp: st}
	c, err := webcreds.Read(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		cs.err = fmt.Errorf("%w: %s is missing (set-web-credentials USER PASSWORD writes it)", ErrNoCredentials, s.path)
		c.AuthEnabled = true
	case err != nil:
		cs.err = fmt.Errorf("%w: %v", ErrNoCredentials, err)
		c = webcreds.Credentials{AuthEnabled: true}
	case c.Version != 1:
		cs.err = fmt.Errorf("%w: %s has schema version %d (1 is understood)", ErrNoCredentials, s.path, c.Version)
		c = webcreds.Credentials{AuthEnabled: true}
	}
	cs.creds = c
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "gen|%d|%s|%s|%s|%t", c.Version, c.User, c.PasswordHash, c.TokenSHA256, c.AuthEnabled)
	cs.gen = m.Sum(nil)
	s.cur = cs
	return cs
}

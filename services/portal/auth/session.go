package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie. It has no Domain attribute, so it is
// host-only; cookies are not scoped by port, so one login on host:1111
// covers every proxied port of that host.
const CookieName = "gpudesk_session"

// KeyFile is the session key, below the root: 32 random bytes made at
// the portal's first start, mode 0600.
const KeyFile = "var/lib/gpudesk/portal-session.key"

// LoadKey reads the session key at path, making it when missing.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading session key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making session key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("making session key: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("writing session key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing session key: %w", err)
	}
	return key, nil
}

// A session cookie is "v1.<id>.<expiry>.<mac>": a random id, the Unix
// expiry and HMAC-SHA256(key, id|expiry|credentials generation). It holds
// no secret; a cookie made before the credentials changed no longer
// verifies.
type session struct {
	ID     string
	Expiry time.Time
}

// b64 is strict, so each MAC has one spelling.
var b64 = base64.RawURLEncoding.Strict()

func newSessionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return b64.EncodeToString(b)
}

func sessionMAC(key, gen []byte, id string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("session|"))
	m.Write(gen)
	m.Write([]byte("|" + id + "|" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

func encodeSession(key, gen []byte, s session) string {
	exp := s.Expiry.Unix()
	return "v1." + s.ID + "." + strconv.FormatInt(exp, 10) + "." + b64.EncodeToString(sessionMAC(key, gen, s.ID, exp))
}

func decodeSession(key, gen []byte, v string, now time.Time) (session, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v1" || len(parts[1]) != 22 || len(v) > 128 {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return session{}, false
	}
	mac, err := b64.DecodeString(parts[3])
	if err != nil || !hmac.Equal(mac, sessionMAC(key, gen, parts[1], exp)) {
		return session{}, false
	}
	s := session{ID: parts[1], Expiry: time.Unix(exp, 0)}
	if !now.Before(s.Expiry) {
		return session{}, false
	}
	return s, true
}

// csrfToken is the token a session's forms and scripts send back.
func csrfToken(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf|" + id))
	return b64.EncodeToString(m.Sum(nil)[:18])
}

package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DefaultLifetime is how long a session lasts after login.
const DefaultLifetime = 12 * time.Hour

// LoginPath is where browsers are sent to log in on every proxied site;
// Caddy routes it (and everything under /.gpudesk/) to the portal without
// asking for a login, so tunnels and direct ports each log in on their
// own origin. The portal's own site also answers /login.
const LoginPath = "/.gpudesk/login"

// Config says where the credentials and the key are.
type Config struct {
	CredsFile string
	Key       []byte
	Lifetime  time.Duration    // DefaultLifetime when zero
	Now       func() time.Time // time.Now when nil
	// LimitEvery is the limiter's per-address refill interval
	// (PerAddressEvery when zero).
	LimitEvery time.Duration
	// LogoutsFile keeps logouts across restarts (in memory only when
	// empty).
	LogoutsFile string
}

// Auth decides who a request is.
type Auth struct {
	creds    credStore
	key      []byte
	lifetime time.Duration
	now      func() time.Time
	Limiter  *Limiter
	bcryptMu sync.Mutex // one bcrypt at a time: bounded CPU under a flood
	checks   atomic.Int64

	mu          sync.Mutex
	revoked     map[string]time.Time // logged-out session ids until their expiry
	logoutsFile string
	basicOK     map[string]struct{} // MACs of Basic credentials already checked
}

// New returns an Auth for cfg.
func New(cfg Config) *Auth {
	a := &Auth{
		creds:    credStore{path: cfg.CredsFile, key: cfg.Key},
		key:      cfg.Key,
		lifetime: cfg.Lifetime,
		now:      cfg.Now,
		revoked:  map[string]time.Time{},
		basicOK:  map[string]struct{}{},

		logoutsFile: cfg.LogoutsFile,
	}
	if a.lifetime <= 0 {
		a.lifetime = DefaultLifetime
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.Limiter = NewLimiter(a.now)
	a.Limiter.Every = cfg.LimitEvery
	return a
}

// LoadLogouts reads the logouts kept by an earlier run. On an error the
// list starts empty (the file is root's and written atomically, so only a
// hand edit breaks it) and the error says which file.
func (a *Auth) LoadLogouts() error {
	if a.logoutsFile == "" {
		return nil
	}
	m, err := loadLogouts(a.logoutsFile, a.now())
	a.mu.Lock()
	a.revoked = m
	a.mu.Unlock()
	return err
}

// Who is the outcome of a check.
type Who struct {
	OK bool
	// Via is "session", "bearer", "basic" or "open" (auth disabled).
	Via  string
	User string
	// SessionID is set for Via "session".
	SessionID string
}

// Status is what the pages show about the login itself.
type Status struct {
	Enabled bool
	User    string
	Problem string // the credentials file cannot be used
}

// Status reports whether auth is on and whether credentials are usable.
func (a *Auth) Status() Status {
	cs := a.creds.get()
	s := Status{Enabled: cs.creds.AuthEnabled, User: cs.creds.User}
	if cs.err != nil {
		s.Problem = cs.err.Error()
	}
	return s
}

// Check tells who r is from its cookie, bearer token or Basic header. It
// never runs bcrypt for a cookie or a token.
func (a *Auth) Check(r *http.Request) Who {
	cs := a.creds.get()
	if !cs.creds.AuthEnabled && cs.err == nil {
		return Who{OK: true, Via: "open"}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := cutPrefixFold(h, "Bearer "); ok {
			if cs.creds.TokenMatches(strings.TrimSpace(tok)) {
				return Who{OK: true, Via: "bearer", User: cs.creds.User}
			}
		} else if user, pass, ok := r.BasicAuth(); ok {
			if a.basicMatches(cs, user, pass, ClientAddr(r)) {
				return Who{OK: true, Via: "basic", User: cs.creds.User}
			}
		}
	}
	for _, c := range r.Cookies() {
		if c.Name != CookieName {
			continue
		}
		if s, ok := decodeSession(a.key, cs.gen, c.Value, a.now()); ok && !a.isRevoked(s.ID) {
			return Who{OK: true, Via: "session", User: cs.creds.User, SessionID: s.ID}
		}
	}
	return Who{}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// basicMatches checks Basic credentials: the password may be the web
// password or the token. A password pair that passed bcrypt once is
// remembered (as an HMAC) for this generation of the credentials, so a
// Basic client costs one bcrypt, not one per request.
func (a *Auth) basicMatches(cs *credState, user, pass, addr string) bool {
	if subtle.ConstantTimeCompare([]byte(user), []byte(cs.creds.User)) != 1 || cs.creds.User == "" {
		return false
	}
	if cs.creds.TokenMatches(pass) {
		return true
	}
	m := hmac.New(sha256.New, a.key)
	m.Write(cs.gen)
	m.Write([]byte("|basic|" + user + "\x00" + pass))
	mac := string(m.Sum(nil))
	a.mu.Lock()
	_, seen := a.basicOK[mac]
	a.mu.Unlock()
	if seen {
		return true
	}
	ok, _ := a.Password(cs, user, pass, addr)
	if ok {
		a.mu.Lock()
		if len(a.basicOK) > 64 {
			clear(a.basicOK)
		}
		a.basicOK[mac] = struct{}{}
		a.mu.Unlock()
	}
	return ok
}

// Password checks a user name and password with bcrypt behind the rate
// limiter. retry > 0 means the attempt was refused unchecked.
func (a *Auth) Password(cs *credState, user, pass, addr string) (ok bool, retry time.Duration) {
	if cs == nil {
		cs = a.creds.get()
	}
	if w := a.Limiter.Take(addr); w > 0 {
		return false, w
	}
	a.bcryptMu.Lock()
	a.checks.Add(1)
	hashOK := cs.creds.PasswordHash != "" &&
		bcrypt.CompareHashAndPassword([]byte(cs.creds.PasswordHash), []byte(pass)) == nil
	a.bcryptMu.Unlock()
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(cs.creds.User)) == 1
	if hashOK && userOK && cs.err == nil {
		a.Limiter.Refund(addr)
		return true, 0
	}
	return false, 0
}

// PasswordChecks is how many bcrypt comparisons have run.
func (a *Auth) PasswordChecks() int64 { return a.checks.Load() }

// Login checks a user name and password (the form) and returns the
// session cookie on success.
func (a *Auth) Login(r *http.Request, user, pass string) (*http.Cookie, time.Duration, bool) {
	cs := a.creds.get()
	ok, retry := a.Password(cs, user, pass, ClientAddr(r))
	if !ok {
		return nil, retry, false
	}
	return a.newCookie(cs, r), 0, true
}

// TokenLogin checks a token (the ?token= of an Open button) and returns
// the session cookie on success. Failures count against the limiter like
// passwords do.
func (a *Auth) TokenLogin(r *http.Request, tok string) (*http.Cookie, time.Duration, bool) {
	cs := a.creds.get()
	if cs.err == nil && cs.creds.TokenMatches(tok) {
		return a.newCookie(cs, r), 0, true
	}
	if w := a.Limiter.Take(ClientAddr(r)); w > 0 {
		return nil, w, false
	}
	return nil, 0, false
}

func (a *Auth) newCookie(cs *credState, r *http.Request) *http.Cookie {
	s := session{ID: newSessionID(), Expiry: a.now().Add(a.lifetime)}
	return &http.Cookie{
		Name:     CookieName,
		Value:    encodeSession(a.key, cs.gen, s),
		Path:     "/",
		MaxAge:   int(a.lifetime / time.Second),
		HttpOnly: true,
		Secure:   IsHTTPS(r),
		SameSite: http.SameSiteLaxMode,
	}
}

// Logout ends the session of who and returns the cookie that clears it.
// With a LogoutsFile the logout is written there before Logout returns;
// the error says when it could not be (the session is still ended in
// memory, so only a restart of the portal could bring it back).
func (a *Auth) Logout(r *http.Request, who Who) (*http.Cookie, error) {
	var err error
	if who.SessionID != "" {
		a.mu.Lock()
		now := a.now()
		for id, exp := range a.revoked {
			if now.After(exp) {
				delete(a.revoked, id)
			}
		}
		a.revoked[who.SessionID] = now.Add(a.lifetime)
		if a.logoutsFile != "" {
			if len(a.revoked) > maxLogouts {
				err = fmt.Errorf("more than %d logged-out sessions alive: %s not updated", maxLogouts, a.logoutsFile)
			} else {
				err = saveLogouts(a.logoutsFile, a.revoked)
			}
		}
		a.mu.Unlock()
	}
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: IsHTTPS(r), SameSite: http.SameSiteLaxMode}, err
}

func (a *Auth) isRevoked(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.revoked[id]
	return ok
}

// CSRFToken is the token that state-changing requests of a session carry
// (form field or X-CSRF-Token header).
func (a *Auth) CSRFToken(who Who) string {
	if who.SessionID == "" {
		return ""
	}
	return csrfToken(a.key, who.SessionID)
}

// CheckCSRF accepts a state-changing request: a bearer or Basic request
// carries no ambient credential (nothing to forge); a session's request
// must carry its token. Cross-origin requests are refused before this by
// http.CrossOriginProtection.
func (a *Auth) CheckCSRF(r *http.Request, who Who) bool {
	switch who.Via {
	case "bearer", "basic":
		return true
	case "session":
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.PostFormValue("csrf")
		}
		return subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(a.key, who.SessionID))) == 1
	case "open":
		return true // nothing to protect with a token; the origin check still applies
	}
	return false
}

// trustedPeer says the request came through Caddy on this machine, so its
// X-Forwarded-* headers are Caddy's.
func trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClientAddr is the client's address: Caddy's X-Forwarded-For when the
// peer is local, else the peer.
func ClientAddr(r *http.Request) string {
	if trustedPeer(r) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); a != "" && len(a) < 64 {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// IsHTTPS says the client's connection is TLS.
func IsHTTPS(r *http.Request) bool {
	return r.TLS != nil || (trustedPeer(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// SafeNext returns next when it is a path on this site, "/" otherwise:
// no scheme, no host, no "//" or "/\" that a browser would read as
// another host, no control characters.
func SafeNext(next string) string {
	if next == "" || len(next) > 4096 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f || next[i] == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// WithoutToken returns uri with its token query parameter removed.
func WithoutToken(uri string) (clean, token string, ok bool) {
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return "", "", false
	}
	q := u.Query()
	if !q.Has("token") {
		return "", "", false
	}
	token = q.Get("token")
	q.Del("token")
	u.RawQuery = q.Encode()
	return SafeNext(u.RequestURI()), token, true
}

// IsBrowser says a denied request should be redirected to the login page
// rather than answered 401: a top-level GET that asks for HTML, with no
// credentials of its own and no websocket upgrade.
func IsBrowser(r *http.Request, method string) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	if r.Header.Get("Authorization") != "" || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Challenge writes the 401 for API clients. The Basic challenge is left
// out for browser scripts (Sec-Fetch-Mode set), where it would pop a
// password dialog.
func Challenge(w http.ResponseWriter, r *http.Request) {
	v := `Bearer realm="gpudesk"`
	if r.Header.Get("Sec-Fetch-Mode") == "" {
		v += `, Basic realm="gpudesk", charset="UTF-8"`
	}
	w.Header().Set("WWW-Authenticate", v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"error":"authentication required: log in, or send Authorization: Bearer $WEB_TOKEN"}` + "\n"))
}

// TooMany writes the 429 of a refused password attempt.
func TooMany(w http.ResponseWriter, retry time.Duration) {
	secs := int((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	http.Error(w, "too many failed login attempts; try again in "+strconv.Itoa(max(secs, 1))+" s", http.StatusTooManyRequests)
}

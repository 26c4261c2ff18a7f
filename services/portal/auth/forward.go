package auth

import (
	"net/http"
	"net/url"
)

// ForwardPath is the portal's forward-auth endpoint; Caddy rewrites each
// proxied request to a GET of it, with the original method and URI in
// X-Forwarded-Method and X-Forwarded-Uri.
const ForwardPath = "/.gpudesk/auth"

// Forward answers Caddy's forward_auth: 200 (with Remote-User) lets the
// request through; anything else is what the client gets back — a
// redirect to the login page for a browser, 401 for an API client, or,
// for a GET with a valid ?token=, the session cookie and a redirect to
// the same URL without the token.
func (a *Auth) Forward(w http.ResponseWriter, r *http.Request) {
	method := r.Header.Get("X-Forwarded-Method")
	if method == "" {
		method = http.MethodGet
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	who := a.Check(r)
	if method == http.MethodGet {
		if clean, tok, ok := WithoutToken(uri); ok {
			c, retry, good := a.TokenLogin(r, tok)
			switch {
			case good:
				http.SetCookie(w, c)
				http.Redirect(w, r, clean, http.StatusFound)
				return
			case who.OK: // already logged in: just drop the token from the URL
				http.Redirect(w, r, clean, http.StatusFound)
				return
			case retry > 0:
				TooMany(w, retry)
				return
			}
			uri = clean
		}
	}
	if who.OK {
		w.Header().Set("Remote-User", who.User)
		w.WriteHeader(http.StatusOK)
		return
	}
	Deny(w, r, method, uri, LoginPath)
}

// Deny answers an unauthenticated request: browsers go to loginPath with
// the page they wanted as next, API clients get 401.
func Deny(w http.ResponseWriter, r *http.Request, method, uri, loginPath string) {
	if IsBrowser(r, method) {
		http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(SafeNext(uri)), http.StatusFound)
		return
	}
	Challenge(w, r)
}

package portal_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "container"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "container.crt"), filepath.Join(dir, "container.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

func TestPortal_HTTPS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	b := startBox(t, boxOpts{tlsCert: cert, tlsKey: key})
	be := startBackend(t)
	pub := freePort(t)
	b.register(pub, fmt.Sprintf(`{"listen_port":"%d"}`, be.port))
	waitFor(t, "the TLS route", func() error {
		resp, err := insecure.Get(b.url(pub, "/"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	// Plain HTTP on a TLS port is sent to https on the same port.
	resp, err := insecure.Get(fmt.Sprintf("http://127.0.0.1:%d/x", pub))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "https://") {
		t.Fatalf("plain http: %d %q", resp.StatusCode, loc)
	}
	form := "user=" + testUser + "&password=" + strings.ReplaceAll(testPassword, " ", "+")
	a := do(t, "POST", b.url(pub, "/.gpudesk/login"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form))
	var secure bool
	for _, c := range (&http.Response{Header: a.hdr}).Cookies() {
		secure = secure || (c.Name == "gpudesk_session" && c.Secure)
	}
	if !secure {
		t.Fatalf("cookie over https not Secure: %v", a.hdr["Set-Cookie"])
	}
	a = do(t, "GET", b.url(pub, "/y"), bearer, nil)
	if a.body != "backend /y user=admin" {
		t.Fatalf("backend over https: %d %q", a.code, a.body)
	}
	links := do(t, "GET", b.url(b.publicPort, "/api/services"), bearer, nil)
	if !strings.Contains(links.body, `"direct": "https://127.0.0.1:`) {
		t.Fatalf("direct links are not https: %s", links.body)
	}
}

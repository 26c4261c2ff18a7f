// Package webcreds keeps the web login of the container: the user name,
// the bcrypt hash of the password and the SHA-256 of the bearer token, in
// one root-only JSON file that the portal reads. No password or token is
// ever stored in clear.
package webcreds

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// File is the credentials file, below the root.
const File = "var/lib/gpudesk/web-credentials.json"

// Cost is the bcrypt cost of hashed passwords: the portal checks the
// hash only at login (rate-limited), so this bounds one guess, not a page.
// A variable only so that tests (under -race) can hash quickly.
var Cost = 11

// Credentials is the content of File (schema version 1).
type Credentials struct {
	Version      int    `json:"version"`
	User         string `json:"user"`
	PasswordHash string `json:"password_hash"`
	// TokenSHA256 is the hex SHA-256 of WEB_TOKEN: a long random token
	// needs no slow hash, and the portal compares it in constant time.
	TokenSHA256 string `json:"token_sha256"`
	AuthEnabled bool   `json:"auth_enabled"`
	// Generated says the password (and token) were made by the boot and
	// shown once on the console.
	Generated bool `json:"generated"`
}

// Input is what the boot was given.
type Input struct {
	User         string // WEB_USER
	Password     string // WEB_PASSWORD
	PasswordHash string // WEB_PASSWORD_HASH
	Token        string // WEB_TOKEN
	AuthEnabled  bool   // WEB_ENABLE_AUTH
}

// Result says what Ensure did.
type Result struct {
	Creds    Credentials
	Changed  bool
	Password string // set only when generated now: to be shown once
	Token    string // likewise
	Warnings []string
}

// HashToken returns the hex SHA-256 of a token.
func HashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// TokenMatches compares a presented token with the stored hash in
// constant time.
func (c Credentials) TokenMatches(tok string) bool {
	if c.TokenSHA256 == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(tok)), []byte(c.TokenSHA256)) == 1
}

// Read reads the file at path.
func Read(path string) (Credentials, error) {
	var c Credentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}

// Ensure brings the file at path in line with in. What was given wins;
// what was not is kept from the file, so a restarted container keeps the
// password it showed at its first boot; what neither has is generated.
func Ensure(path string, in Input) (Result, error) {
	var res Result
	old, oldErr := Read(path)
	haveOld := oldErr == nil && old.Version == 1
	c := Credentials{Version: 1, User: in.User, AuthEnabled: in.AuthEnabled}

	switch {
	case in.PasswordHash != "" && validHash(in.PasswordHash):
		c.PasswordHash = in.PasswordHash
	case in.PasswordHash != "":
		res.Warnings = append(res.Warnings, "WEB_PASSWORD_HASH is not a bcrypt hash ($2a$, $2b$ or $2y$, as made by htpasswd -B or python bcrypt); ignored")
		fallthrough
	default:
		switch {
		case in.Password != "":
			if haveOld && bcrypt.CompareHashAndPassword([]byte(old.PasswordHash), []byte(in.Password)) == nil {
				c.PasswordHash = old.PasswordHash
			} else {
				h, err := bcrypt.GenerateFromPassword([]byte(in.Password), Cost)
				if err != nil {
					if errors.Is(err, bcrypt.ErrPasswordTooLong) {
						res.Warnings = append(res.Warnings, "WEB_PASSWORD is longer than bcrypt's 72 bytes; a password was generated instead")
						break
					}
					return res, fmt.Errorf("hashing WEB_PASSWORD: %w", err)
				}
				c.PasswordHash = string(h)
			}
		case haveOld && old.PasswordHash != "":
			c.PasswordHash = old.PasswordHash
			c.Generated = old.Generated
		}
	}
	if c.PasswordHash == "" {
		pw, err := Random(16)
		if err != nil {
			return res, err
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), Cost)
		if err != nil {
			return res, fmt.Errorf("hashing the generated password: %w", err)
		}
		c.PasswordHash, c.Generated, res.Password = string(h), true, pw
	}

	switch {
	case in.Token != "":
		c.TokenSHA256 = HashToken(in.Token)
	case haveOld && old.TokenSHA256 != "":
		c.TokenSHA256 = old.TokenSHA256
	default:
		tok, err := Random(32)
		if err != nil {
			return res, err
		}
		c.TokenSHA256, res.Token = HashToken(tok), tok
	}

	res.Creds = c
	if haveOld && old == c {
		return res, nil
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := writeRootOnly(path, append(b, '\n')); err != nil {
		return res, err
	}
	res.Changed = true
	return res, nil
}

func validHash(h string) bool {
	if !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
		return false
	}
	_, err := bcrypt.Cost([]byte(h))
	return err == nil && len(h) == 60
}

const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// Random returns n characters from an alphabet without look-alikes.
func Random(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for i := 0; i < n; i++ {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generating a random credential: %w", err)
		}
		b.WriteByte(alphabet[k.Int64()])
	}
	return b.String(), nil
}

// writeRootOnly writes path with mode 0600 in a folder of mode 0700.
func writeRootOnly(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	os.Chmod(dir, 0o700)
	f, err := os.CreateTemp(dir, ".creds.*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

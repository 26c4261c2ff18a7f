package env

import "strings"

// secretNames are the variables that hold credentials of the container
// itself (web login, tunnel, account, Vast's Open button).
var secretNames = map[string]bool{
	"WEB_PASSWORD":      true,
	"WEB_PASSWORD_HASH": true,
	"WEB_TOKEN":         true,
	"CF_TUNNEL_TOKEN":   true,
	"USER_PASSWORD":     true,
	"OPEN_BUTTON_TOKEN": true,
}

// secretSuffixes mark a variable as a secret by its name: HF_TOKEN,
// OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, COTURN_PASSWORD, RCLONE_CONFIG_X_PASS.
var secretSuffixes = []string{"_TOKEN", "_KEY", "_SECRET", "_PASSWORD", "_PASS", "_PASSWD", "_PASSPHRASE"}

// publicSuffixes are names that look like secrets but hold public keys
// (PUBLIC_KEY is RunPod's name for the SSH key).
var publicSuffixes = []string{"PUBLIC_KEY", "PUBKEY"}

// IsSecret reports whether the variable called name holds a secret, which
// the boot keeps out of supervisord's environment, the environment file
// and every log.
func IsSecret(name string) bool {
	if secretNames[name] {
		return true
	}
	for _, s := range publicSuffixes {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// IsInfraSecret reports whether name is one of the container's own
// credentials (web login, tunnel, account password, Open button token),
// which the user's provisioning script does not get; the script does get
// the other secrets (HF_TOKEN, CIVITAI_TOKEN, …), which it exists to use.
func IsInfraSecret(name string) bool { return secretNames[name] }

// Split returns the non-secret part of e and the secret part.
func (e *Env) Split() (public, secret *Env) {
	public, secret = New(), New()
	for k, v := range e.vals {
		if IsSecret(k) {
			secret.vals[k] = v
		} else {
			public.vals[k] = v
		}
	}
	return public, secret
}

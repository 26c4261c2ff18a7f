// Package deploy's tests check the Vast and RunPod templates against the
// project: every variable they set is one the README documents (the table
// under "### Environment variables" of "## provisioner"), every value that
// table gives a default for is that default, no secret is written into a
// template, and the ports are the portal's.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/portal"
	"github.com/gpudesk/runtime/services/provisioner/env"
)

// vastTemplate is the body of Vast's template API (the fields of its
// template form).
type vastTemplate struct {
	Name                 string `json:"name"`
	Image                string `json:"image"`
	Tag                  string `json:"tag"`
	Desc                 string `json:"desc"`
	Readme               string `json:"readme"`
	Runtype              string `json:"runtype"`
	UseSSH               bool   `json:"use_ssh"`
	SSHDirect            bool   `json:"ssh_direct"`
	JupDirect            bool   `json:"jup_direct"`
	UseJupyterLab        bool   `json:"use_jupyter_lab"`
	Onstart              string `json:"onstart"`
	Env                  string `json:"env"` // docker run options: -p and -e
	RecommendedDiskSpace int    `json:"recommended_disk_space"`
	Private              bool   `json:"private"`
}

// runpodTemplate is the body of RunPod's REST template API.
type runpodTemplate struct {
	Name              string            `json:"name"`
	ImageName         string            `json:"imageName"`
	Category          string            `json:"category"`
	IsServerless      bool              `json:"isServerless"`
	IsPublic          bool              `json:"isPublic"`
	ContainerDiskInGb int               `json:"containerDiskInGb"`
	VolumeInGb        int               `json:"volumeInGb"`
	VolumeMountPath   string            `json:"volumeMountPath"`
	Ports             []string          `json:"ports"`
	DockerEntrypoint  []string          `json:"dockerEntrypoint"`
	DockerStartCmd    []string          `json:"dockerStartCmd"`
	Env               map[string]string `json:"env"`
	Readme            string            `json:"readme"`
}

// platformVars are set in a template for the platform itself, not read by
// the image: Vast's Open button goes to OPEN_BUTTON_PORT.
var platformVars = map[string]string{"OPEN_BUTTON_PORT": "Vast: the port its Open button opens"}

func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// documented is one row's variable: a pattern for the name and the
// default, when the row gives a literal one.
type documented struct {
	name     string
	re       *regexp.Regexp
	def      string
	hasValue bool
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// readmeTable parses the provisioner's environment table.
func readmeTable(t *testing.T, readme string) []documented {
	t.Helper()
	_, after, ok := strings.Cut(readme, "\n## provisioner\n")
	if !ok {
		t.Fatal("README.md: no \"## provisioner\" section")
	}
	_, after, ok = strings.Cut(after, "\n### Environment variables\n")
	if !ok {
		t.Fatal("README.md: no \"### Environment variables\" under \"## provisioner\"")
	}
	var rows []documented
	started := false
	for _, line := range strings.Split(after, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") || strings.TrimSpace(cells[0]) == "variable" {
			continue
		}
		names := codeSpan.FindAllStringSubmatch(cells[0], -1)
		var defs []string
		for _, m := range codeSpan.FindAllStringSubmatch(cells[1], -1) {
			defs = append(defs, m[1])
		}
		if bare := strings.TrimSpace(cells[1]); len(defs) == 0 && regexp.MustCompile(`^\d+$`).MatchString(bare) {
			defs = []string{bare}
		}
		for i, m := range names {
			d := documented{name: m[1], re: namePattern(m[1])}
			if i < len(defs) {
				d.def, d.hasValue = defs[i], true
			}
			rows = append(rows, d)
		}
	}
	if len(rows) < 20 {
		t.Fatalf("README.md's environment table: only %d variables parsed", len(rows))
	}
	return rows
}

// namePattern turns a documented name into a pattern: <SVC> and NAME are
// any name, a final _n any number, * anything.
func namePattern(name string) *regexp.Regexp {
	p := regexp.QuoteMeta(name)
	p = strings.ReplaceAll(p, "<SVC>", "[A-Z0-9_]+")
	p = strings.ReplaceAll(p, `\*`, "[A-Z0-9_]*")
	if strings.HasPrefix(name, "NAME_") {
		p = "[A-Z0-9_]+" + strings.TrimPrefix(p, "NAME")
	}
	if strings.HasSuffix(name, "_n") {
		p = strings.TrimSuffix(p, "n") + "[0-9]+"
	}
	return regexp.MustCompile("^" + p + "$")
}

func lookupDoc(rows []documented, name string) (documented, bool) {
	for _, r := range rows {
		if r.name == name {
			return r, true
		}
	}
	for _, r := range rows {
		if r.re.MatchString(name) {
			return r, true
		}
	}
	return documented{}, false
}

// dockerOptions parses Vast's env field: -p HOST:CONTAINER and -e K=V.
func dockerOptions(t *testing.T, s string) (ports []string, vars map[string]string) {
	t.Helper()
	vars = map[string]string{}
	f := strings.Fields(s)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "-p", "-e":
			if i+1 == len(f) {
				t.Fatalf("vast env: %s without a value", f[i])
			}
			if f[i] == "-p" {
				ports = append(ports, f[i+1])
			} else {
				k, v, ok := strings.Cut(f[i+1], "=")
				if !ok {
					t.Errorf("vast env: -e %s has no =", f[i+1])
				}
				if _, dup := vars[k]; dup {
					t.Errorf("vast env: %s set twice", k)
				}
				vars[k] = v
			}
			i++
		default:
			t.Errorf("vast env: unexpected %q (only -p and -e)", f[i])
		}
	}
	return ports, vars
}

// checkVars checks a template's variables against the README's table.
func checkVars(t *testing.T, where string, vars map[string]string, rows []documented, allowed map[string]bool) {
	t.Helper()
	for name, val := range vars {
		if _, ok := platformVars[name]; ok {
			continue
		}
		d, ok := lookupDoc(rows, name)
		if !ok {
			t.Errorf("%s sets %s, which README.md's environment table does not document", where, name)
			continue
		}
		if d.hasValue && val != "" && val != d.def {
			t.Errorf("%s sets %s=%q, but README.md documents the default %q", where, name, val, d.def)
		}
		if env.IsSecret(name) && val != "" && !allowed[name+"="+val] {
			t.Errorf("%s writes a value for the secret %s: leave it to the renter or the platform", where, name)
		}
	}
}

func portalPort(t *testing.T) int {
	t.Helper()
	cfg, err := portal.ParseArgs(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg.PublicPort
}

func TestTemplates_vast(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := readmeTable(t, string(readme))
	var v vastTemplate
	decodeStrict(t, "vast/template.json", &v)
	if v.Runtype != "args" || v.UseSSH || v.UseJupyterLab {
		t.Errorf("runtype %q (ssh %v, jupyter %v): only the entrypoint mode (args) keeps supervisord as PID 1", v.Runtype, v.UseSSH, v.UseJupyterLab)
	}
	if v.Onstart != "" {
		t.Errorf("onstart %q: Vast runs it only in the SSH and Jupyter modes", v.Onstart)
	}
	ports, vars := dockerOptions(t, v.Env)
	pp := portalPort(t)
	want := fmt.Sprintf("%d:%d", pp, pp)
	if !contains(ports, want) || !contains(ports, "22:22") {
		t.Errorf("ports %v, want %s and 22:22", ports, want)
	}
	if vars["OPEN_BUTTON_PORT"] != strconv.Itoa(pp) {
		t.Errorf("OPEN_BUTTON_PORT=%q, want the portal's port %d", vars["OPEN_BUTTON_PORT"], pp)
	}
	// OPEN_BUTTON_TOKEN=1 is Vast's convention for "make a token": the
	// platform replaces the value; it is no secret.
	checkVars(t, "vast/template.json", vars, rows, map[string]bool{"OPEN_BUTTON_TOKEN=1": true})
	if _, ok := vars["OPEN_BUTTON_TOKEN"]; !ok {
		t.Error("vast: no OPEN_BUTTON_TOKEN: the Open button would not log in")
	}
	if v.Image == "" || v.Tag == "" {
		t.Error("vast: image and tag must be set")
	}
}

func TestTemplates_runpod(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := readmeTable(t, string(readme))
	var r runpodTemplate
	decodeStrict(t, "runpod/template.json", &r)
	pp := portalPort(t)
	if !contains(r.Ports, fmt.Sprintf("%d/http", pp)) || !contains(r.Ports, "22/tcp") {
		t.Errorf("ports %v, want %d/http (RunPod's proxy) and 22/tcp", r.Ports, pp)
	}
	if len(r.DockerEntrypoint) != 0 {
		t.Errorf("dockerEntrypoint %v replaces the image's: supervisord would not be PID 1", r.DockerEntrypoint)
	}
	for _, a := range r.DockerStartCmd {
		if !strings.Contains(a, "=") && a != "init.sh" {
			t.Errorf("dockerStartCmd %v: only init.sh KEY=VALUE arguments", r.DockerStartCmd)
		}
	}
	if ws := r.Env["WORKSPACE"]; r.VolumeMountPath != ws {
		t.Errorf("volumeMountPath %s but WORKSPACE=%s: the workspace would not be the volume", r.VolumeMountPath, ws)
	}
	checkVars(t, "runpod/template.json", r.Env, rows, nil)
	if _, ok := r.Env["PUBLIC_KEY"]; ok {
		t.Error("runpod: PUBLIC_KEY is set by RunPod from the account's key; a template value would replace it")
	}
}

// The parser itself: the README's own rows come out as written.
func TestReadmeTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := readmeTable(t, string(readme))
	for name, want := range map[string]string{"WORKSPACE": "/workspace", "WEB_USER": "user", "SSH_PORT_LOCAL": "22", "CF_QUICK_TUNNELS": "true"} {
		d, ok := lookupDoc(rows, name)
		if !ok || !d.hasValue || d.def != want {
			t.Errorf("%s: parsed %+v, want default %q", name, d, want)
		}
	}
	for _, name := range []string{"VAST_TCP_PORT_1111", "WEB_PASSWORD_FILE", "JUPYTER_PORT_HOST", "RCLONE_CONFIG_X_TYPE"} {
		if _, ok := lookupDoc(rows, name); !ok {
			t.Errorf("%s: not matched by any documented pattern", name)
		}
	}
	if _, ok := lookupDoc(rows, "NOT_A_VARIABLE_OF_OURS"); ok {
		t.Error("an undocumented name matched")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

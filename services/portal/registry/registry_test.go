package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             Registration
		err              string
	}{
		{name: "ai-dock strings", file: "8188", data: `{"listen_port":"18188","metrics_port":"28188","proxy_port":"8188","service_name":"ComfyUI","service_url":""}`,
			want: Registration{PublicPort: 8188, ListenPort: 18188, MetricsPort: 28188, Name: "ComfyUI"}},
		{name: "numbers and unknown fields", file: "6200", data: `{"listen_port":16200,"service_name":"Desktop","proxy_secure":"true","extra":[1,2]}`,
			want: Registration{PublicPort: 6200, ListenPort: 16200, Name: "Desktop"}},
		{name: "jq null url", file: "1111", data: `{"listen_port":"11111","service_url":"null"}`,
			want: Registration{PublicPort: 1111, ListenPort: 11111, Name: "Port 1111"}},
		{name: "preset url and program", file: "8080", data: `{"listen_port":"18080","service_url":"https://x.example/app","program":"jupyter"}`,
			want: Registration{PublicPort: 8080, ListenPort: 18080, Name: "Port 8080", URL: "https://x.example/app", Program: "jupyter"}},
		{name: "html in name is kept as text", file: "81", data: `{"listen_port":"82","service_name":"<b>x</b>\"'"}`,
			want: Registration{PublicPort: 81, ListenPort: 82, Name: `<b>x</b>"'`}},
		{name: "port 0 file", file: "0", data: `{"listen_port":"1"}`, err: "not a port"},
		{name: "port 99999 file", file: "99999", data: `{"listen_port":"1"}`, err: "out of range"},
		{name: "leading zero", file: "080", data: `{"listen_port":"1"}`, err: "not a port"},
		{name: "listen 0", file: "80", data: `{"listen_port":"0"}`, err: "listen_port"},
		{name: "listen 70000", file: "80", data: `{"listen_port":70000}`, err: "out of range"},
		{name: "listen missing", file: "80", data: `{"service_name":"x"}`, err: "listen_port missing"},
		{name: "listen is public", file: "80", data: `{"listen_port":"80"}`, err: "public port itself"},
		{name: "proxy differs", file: "80", data: `{"listen_port":"81","proxy_port":"82"}`, err: "differs"},
		{name: "javascript url", file: "80", data: `{"listen_port":"81","service_url":"javascript:alert(1)"}`, err: "scheme"},
		{name: "credentials in url", file: "80", data: `{"listen_port":"81","service_url":"http://u:p@x/"}`, err: "user information"},
		{name: "control character", file: "80", data: `{"listen_port":"81","service_name":"a\nb"}`, err: "control character"},
		{name: "caddy placeholder in port", file: "80", data: `{"listen_port":"81}\n:9999 {"}`, err: "not a port"},
		{name: "not json", file: "80", data: `{"listen_port":`, err: "not a JSON object"},
		{name: "array", file: "80", data: `[1]`, err: "not a JSON object"},
		{name: "bad program", file: "80", data: `{"listen_port":"81","program":"a b"}`, err: "program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.file, []byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "8188"), []byte(`{"listen_port":"18188","service_name":"B"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "1111"), []byte(`{"listen_port":"11111","service_name":"A"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "junk"), []byte(`{"listen_port":"1"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "9000"), nil, 0o644) // being written
	os.WriteFile(filepath.Join(dir, ".tmp123"), []byte(`x`), 0o644)
	os.Mkdir(filepath.Join(dir, "7000"), 0o755)
	es, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Reg != nil {
			got = append(got, e.Reg.Name)
		} else {
			got = append(got, "error:"+filepath.Base(e.File))
		}
	}
	if want := "A B error:9000 error:junk"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	if es, err := Scan(filepath.Join(dir, "missing")); err != nil || es != nil {
		t.Fatalf("missing folder: %v %v", es, err)
	}
}

func TestScan_TenThousandFiles(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 10000; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(fmt.Sprintf(`{"listen_port":"%d"}`, i%60000+2000)), 0o644)
	}
	es, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(Valid(es)) != MaxEntries || es[len(es)-1].Err == "" || !strings.Contains(es[len(es)-1].Err, "9872 more files ignored") {
		t.Fatalf("%d valid, last %+v", len(Valid(es)), es[len(es)-1])
	}
}

func FuzzParse(f *testing.F) {
	f.Add("8188", []byte(`{"listen_port":"18188","metrics_port":"28188","proxy_port":"8188","service_name":"ComfyUI","service_url":"https://a.b/"}`))
	f.Add("1", []byte(`{"listen_port":2,"program":"x"}`))
	f.Add("3", []byte(`{"listen_port":4,"service_path":"/lab/tree"}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		r, err := Parse(name, data)
		if err != nil {
			return
		}
		if r.PublicPort < 1 || r.PublicPort > 65535 || r.ListenPort < 1 || r.ListenPort > 65535 || r.ListenPort == r.PublicPort {
			t.Fatalf("bad ports accepted: %+v", r)
		}
		for _, s := range []string{r.Name, r.URL, r.Program} {
			for _, c := range s {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("control character accepted: %q", s)
				}
			}
		}
		if r.URL != "" && CheckURL(r.URL) != nil {
			t.Fatalf("bad URL accepted: %q", r.URL)
		}
		if p, err := CleanPath(r.Path); err != nil || p != r.Path || strings.HasPrefix(r.Path, "//") {
			t.Fatalf("bad path accepted: %q", r.Path)
		}
	})
}

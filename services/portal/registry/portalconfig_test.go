package registry

import (
	"fmt"
	"strings"
	"testing"
)

func TestParsePortalConfig(t *testing.T) {
	got, errs := ParsePortalConfig("localhost:1111:11111:/:Instance Portal|localhost:8080:18080:/lab:Jupyter Lab|" +
		"127.0.0.1:7860:17860::WebUI| localhost:8384:8384:/:Syncthing |" +
		"example.com:81:82:/:Remote|localhost:0:1:/:Zero|localhost:83:84://evil.example:Evil|localhost:85:86:/:a\x01b|" +
		"localhost:8080:18081:/:Again|localhost:87|")
	want := []PortalConfig{
		{Reg: Registration{PublicPort: 8080, ListenPort: 18080, Name: "Jupyter Lab", Path: "/lab"}},
		{Reg: Registration{PublicPort: 7860, ListenPort: 17860, Name: "WebUI"}},
		{Reg: Registration{PublicPort: 8384, ListenPort: 8384, Name: "Syncthing"}, Direct: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries\n got %+v\nwant %+v", got, want)
	}
	wantErrs := []string{
		"entry 5: hostname \"example.com\"",
		"entry 6: external port \"0\"",
		"entry 7: path: \"//evil.example\"",
		"entry 8: name holds a control character",
		"entry 9: external port 8080 already used by entry 2",
		"entry 10: 2 fields",
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors %v, want %d", errs, len(wantErrs))
	}
	for i, w := range wantErrs {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d: %v, want one containing %q", i, errs[i], w)
		}
	}
}

// A registration written by File reads back the same through Parse.
func TestFileRoundTrip(t *testing.T) {
	for _, reg := range []Registration{
		{PublicPort: 8080, ListenPort: 18080, Name: "Jupyter", Path: "/lab"},
		{PublicPort: 6200, ListenPort: 16200, MetricsPort: 26200, Name: `Desk "top" <b>`, Program: "novnc", URL: "https://d.example/"},
	} {
		back, err := Parse(fmt.Sprint(reg.PublicPort), reg.File())
		if err != nil || back != reg {
			t.Errorf("%+v: read back %+v, %v", reg, back, err)
		}
	}
}

func FuzzParsePortalConfig(f *testing.F) {
	f.Add("localhost:8080:18080:/lab:Jupyter|localhost:1:1:/:x")
	f.Add("::1:2:3:/:x|||")
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := ParsePortalConfig(s)
		for _, pc := range got {
			if pc.Direct {
				continue
			}
			back, err := Parse(fmt.Sprint(pc.Reg.PublicPort), pc.Reg.File())
			if err != nil || back != pc.Reg {
				t.Fatalf("%+v does not survive its own file: %+v, %v", pc.Reg, back, err)
			}
		}
	})
}

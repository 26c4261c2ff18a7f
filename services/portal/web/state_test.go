package web

import (
	"reflect"
	"testing"
)

func TestParseReadiness(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want Readiness
	}{
		{"not a struct", "x", Readiness{}},
		{"no ready field", map[string]any{"processes": []any{}}, Readiness{}},
		{"ready", map[string]any{"ready": true, "processes": []any{map[string]any{"name": "a", "ready": true}}}, Readiness{Known: true, Ready: true}},
		{"waiting with reasons", map[string]any{"ready": false, "programs": []any{
			map[string]any{"name": "x", "group": "x", "ready": true},
			map[string]any{"name": "comfyui", "group": "apps", "ready": false, "reason": "waiting for provisioner"},
			map[string]any{"name": "kde", "ready": false, "note": "tcp:5900 refused"},
			"junk",
		}}, Readiness{Known: true, Waiting: []Waiting{{"apps:comfyui", "waiting for provisioner"}, {"kde", "tcp:5900 refused"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseReadiness(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

package getopt

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	short := "hc:nv"
	long := []string{"help", "configuration=", "nodaemon", "version", "check", "check-only"}
	tests := []struct {
		name    string
		args    []string
		want    []Option
		rest    []string
		wantErr string
	}{
		{"cluster", []string{"-nc", "f.conf", "x"}, []Option{{"-n", ""}, {"-c", "f.conf"}}, []string{"x"}, ""},
		{"attached", []string{"-cf.conf"}, []Option{{"-c", "f.conf"}}, nil, ""},
		{"long eq", []string{"--configuration=a"}, []Option{{"--configuration", "a"}}, nil, ""},
		{"long prefix", []string{"--conf", "a"}, []Option{{"--configuration", "a"}}, nil, ""},
		{"exact beats prefix", []string{"--check"}, []Option{{"--check", ""}}, nil, ""},
		{"ambiguous", []string{"--che"}, nil, nil, "option --che not a unique prefix"},
		{"unknown short", []string{"-x"}, nil, nil, "option -x not recognized"},
		{"missing arg", []string{"-c"}, nil, nil, "option -c requires argument"},
		{"long missing arg", []string{"--configuration"}, nil, nil, "option --configuration requires argument"},
		{"flag with value", []string{"--nodaemon=1"}, nil, nil, "option --nodaemon must not have an argument"},
		{"stops at arg", []string{"-n", "status", "-c"}, []Option{{"-n", ""}}, []string{"status", "-c"}, ""},
		{"double dash", []string{"--", "-n"}, nil, []string{"-n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := Parse(tt.args, short, long)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(rest, tt.rest) {
				t.Fatalf("got %v %v, want %v %v", got, rest, tt.want, tt.rest)
			}
		})
	}
}

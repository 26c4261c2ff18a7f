package provisioner

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	fl, rest, err := flags([]string{"--root", "/r", "--all", "--user=u", "A=B", "--", "x"}, "root", "user", "all")
	if err != nil || !reflect.DeepEqual(fl, map[string]string{"root": "/r", "all": "true", "user": "u"}) || !reflect.DeepEqual(rest, []string{"A=B", "--", "x"}) {
		t.Errorf("%v %v %v", fl, rest, err)
	}
	// exec-with-secret --all -- CMD: the "--" that starts the command stays.
	if fl, rest, err := flags([]string{"--all", "--", "logtail"}, "root", "all"); err != nil || fl["all"] != "true" || !reflect.DeepEqual(rest, []string{"--", "logtail"}) {
		t.Errorf("--all --: %v %v %v", fl, rest, err)
	}
	if _, _, err := flags([]string{"--nope"}, "root"); err == nil || !strings.Contains(err.Error(), "unknown option --nope") {
		t.Errorf("%v", err)
	}
	if _, _, err := flags([]string{"--root"}, "root"); err == nil {
		t.Error("a missing value is not an error")
	}
}

func TestMain_Usage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(t.Context(), nil, nil, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), "usage: provisioner boot") {
		t.Errorf("no args: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := Main(t.Context(), []string{"exec-with-secret", "A"}, nil, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), "no -- COMMAND") {
		t.Errorf("exec-with-secret without --: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := Main(t.Context(), []string{"frobnicate"}, nil, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("%d %s", code, errb.String())
	}
}

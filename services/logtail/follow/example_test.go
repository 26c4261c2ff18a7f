package follow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gpudesk/runtime/services/logtail/follow"
)

// Print the last two lines of a log, then stop once caught up (a portal
// page would keep following until its client goes away).
func ExampleFollow() {
	dir, _ := os.MkdirTemp("", "follow")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := follow.Follow(ctx, []string{path}, follow.Options{Lines: 2}, func(e follow.Event) {
		switch e.Kind {
		case follow.Line:
			fmt.Println(string(e.Text))
		case follow.Idle:
			cancel() // the first Idle: the history has been delivered
		}
	})
	fmt.Println("err:", err)
	// Output:
	// two
	// three
	// err: <nil>
}

package bootstatus

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// provisioner run and provisioner sync update the file at the same time:
// neither part may be lost.
func TestConcurrentUpdatesKeepBothParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.json")
	if err := Write(path, Status{Version: 1, Phase: PhaseSupervisord, Steps: []Step{{Name: "environment"}}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; n < 50; n++ {
				var err error
				if i == 0 {
					err = SetProvisioning(path, Provisioning{State: "running", Started: time.Now(), DurationMS: float64(n)})
				} else {
					err = SetSync(path, Sync{State: "running", Started: time.Now(), DurationMS: float64(n)})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	s, err := Read(path)
	// Each writer's last update must be there: a read-modify-write
	// without the lock loses one now and then.
	if err != nil || s.Provisioning == nil || s.Sync == nil || s.Provisioning.DurationMS != 49 || s.Sync.DurationMS != 49 ||
		s.Phase != PhaseSupervisord || len(s.Steps) != 1 {
		t.Fatalf("after concurrent updates: %+v %v", s, err)
	}
}

package provisioner

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

func TestMain(m *testing.M) {
	webcreds.Cost = bcrypt.MinCost // hashing at cost 11 under -race takes seconds each
	os.Exit(m.Run())
}

package auth

import (
	"os"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
	"golang.org/x/crypto/bcrypt"
)

// TestMain hashes test passwords at bcrypt's minimum cost (see the
// portal's TestMain); BenchmarkForward never runs bcrypt either way.
func TestMain(m *testing.M) {
	webcreds.Cost = bcrypt.MinCost
	os.Exit(m.Run())
}

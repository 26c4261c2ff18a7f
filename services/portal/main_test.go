package portal_test

import (
	"os"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
	"golang.org/x/crypto/bcrypt"
)

// TestMain hashes test passwords at bcrypt's minimum cost: the tests check
// what the login does, not how slow a guess is (the limiter bounds that),
// and the image's cost makes each check a second under -race.
func TestMain(m *testing.M) {
	webcreds.Cost = bcrypt.MinCost
	os.Exit(m.Run())
}

package webcreds

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	Cost = bcrypt.MinCost // hashing at cost 11 under -race takes seconds each
	os.Exit(m.Run())
}

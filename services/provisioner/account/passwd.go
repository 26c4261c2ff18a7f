// Package account creates and updates the container's user (USER_NAME)
// with the shadow suite's own tools (groupadd, useradd, usermod,
// chpasswd) against a root folder, and reads the passwd and group files
// of that root.
package account

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// User is one line of etc/passwd.
type User struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// Group is one line of etc/group.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// Users reads root/etc/passwd; malformed lines are skipped.
func Users(root string) ([]User, error) {
	lines, err := readLines(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return nil, err
	}
	var out []User
	for _, f := range lines {
		if len(f) < 7 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, User{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
	}
	return out, nil
}

// Groups reads root/etc/group; malformed lines are skipped.
func Groups(root string) ([]Group, error) {
	lines, err := readLines(filepath.Join(root, "etc/group"))
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, f := range lines {
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, Group{Name: f[0], GID: gid, Members: members})
	}
	return out, nil
}

// LookupUser finds name in root/etc/passwd.
func LookupUser(root, name string) (User, bool, error) {
	users, err := Users(root)
	if err != nil {
		return User{}, false, err
	}
	for _, u := range users {
		if u.Name == name {
			return u, true, nil
		}
	}
	return User{}, false, nil
}

// SupplementaryGIDs lists the gids of the groups that name a user as a member.
func SupplementaryGIDs(root, user string) ([]int, error) {
	groups, err := Groups(root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, g := range groups {
		for _, m := range g.Members {
			if m == user {
				out = append(out, g.GID)
				break
			}
		}
	}
	return out, nil
}

func readLines(path string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}

package cnitest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
)

// FilesMentioning lists the regular files under dir whose content contains
// text. IPAM stores on disk (podnet's, host-local's) record the container ID
// in each reservation, so this finds an attachment's reservations without
// knowing the plugin's layout.
func FilesMentioning(dir, text string) ([]string, error) {
	files, err := RegularFiles(dir)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(data, []byte(text)) {
			found = append(found, path)
		}
	}
	return found, nil
}

// RegularFiles lists every regular file under dir (none when dir is absent).
func RegularFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

// CommandLinesMentioning runs argv in hostNS (an argument "{{.DataDir}}" is
// replaced by dataDir) and returns the lines of its output containing text:
// the reservations of a plugin whose IPAM state only a command can list.
func CommandLinesMentioning(hostNS ns.NetNS, argv []string, dataDir, text string) ([]string, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to list reservations")
	}
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, "{{.DataDir}}", dataDir)
	}
	var out []byte
	err := InNS(hostNS, func() error {
		var err error
		out, err = exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			return fmt.Errorf("listing reservations with %v: %w", args, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, text) {
			found = append(found, line)
		}
	}
	return found, nil
}

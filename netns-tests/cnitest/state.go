package cnitest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
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

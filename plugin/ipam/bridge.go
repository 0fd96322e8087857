package ipam

import (
	"bytes"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// bridgeRecordName, in a network's store, names the bridge (the L2
// segment) the network's addresses live on. Two networks of one data
// directory that record the same bridge would hand out the same addresses
// on it: BridgeUsers finds the other one.
const bridgeRecordName = format.BridgeRecord

// LockDataDir takes the data directory's lock (a flock on the directory
// itself, waited for at most LockTimeout), creating the directory when
// missing. Held around the check of BridgeUsers and the Reserve after it, it
// keeps another network from taking the bridge in between. Closing the file
// drops it.
func LockDataDir(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, dirMode); err != nil {
		return nil, fmt.Errorf("creating IPAM directory: %w", err)
	}
	f, err := os.OpenFile(dataDir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening data directory: %w", err)
	}
	if err := LockFile(f, LockTimeout); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// BridgeUsers returns the networks of dataDir other than self whose store
// records bridge and still holds an address (an entry named by one: a
// reservation, or something planted that keeps the address). A store from
// before the record, or one that is unsafe, is not counted. It writes and
// locks nothing.
func BridgeUsers(dataDir, bridge, self string) ([]string, error) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading data directory: %w", err)
	}
	want := []byte(bridge + "\n")
	var users []string
	buf := make([]byte, MaxFileSize+1)
	for _, e := range entries {
		name := e.Name()
		if name == self || !e.IsDir() {
			continue
		}
		dirf, err := openStoreDir(dataDir, name, false, false)
		if err != nil {
			continue // not a store podnet would use
		}
		n, err := readFileAt(int(dirf.Fd()), bridgeRecordName, buf)
		if err == nil && bytes.Equal(buf[:n], want) {
			s := &Store{dir: dirf.Name(), dirf: dirf}
			if held, err := s.entries(); err == nil && slices.ContainsFunc(held, func(e os.DirEntry) bool { return parseCanonicalIP(e.Name()) != nil }) {
				users = append(users, name)
			}
		}
		_ = dirf.Close()
	}
	return users, nil
}

// RecordBridge records that the store's addresses live on bridge (once; a
// changed bridge is recorded again).
func (s *Store) RecordBridge(bridge string) error {
	want := bridge + "\n"
	if got, err := s.ReadFile(bridgeRecordName); err == nil && string(got) == want {
		return nil
	}
	return s.WriteFile(bridgeRecordName, []byte(want))
}

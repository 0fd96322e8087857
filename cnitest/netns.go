package cnitest

import (
	"errors"
	"os"
	"sync"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
)

// Namespaces creates throwaway network namespaces and remembers every one,
// so a suite can prove at the end that none was left behind.
type Namespaces struct {
	mu      sync.Mutex
	created map[string]ns.NetNS
}

// NewNamespaces returns an empty tracker.
func NewNamespaces() *Namespaces { return &Namespaces{created: map[string]ns.NetNS{}} }

// New creates a bind-mounted netns under /var/run/netns.
func (t *Namespaces) New() (ns.NetNS, error) {
	netns, err := testutils.NewNS()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.created[netns.Path()] = netns
	t.mu.Unlock()
	return netns, nil
}

// Delete closes and unmounts netns and removes its mount point: the kernel
// frees the namespace, and everything in it, once nothing else holds it.
func (t *Namespaces) Delete(netns ns.NetNS) error {
	path := netns.Path()
	err := errors.Join(netns.Close(), testutils.UnmountNS(netns))
	if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	t.mu.Lock()
	delete(t.created, path)
	t.mu.Unlock()
	return err
}

// Leftovers lists the namespaces created and not deleted whose mount point
// still exists.
func (t *Namespaces) Leftovers() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var left []string
	for path := range t.created {
		if _, err := os.Stat(path); err == nil {
			left = append(left, path)
		}
	}
	return left
}

package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/containernetworking/plugins/pkg/netlinksafe"

	"github.com/cnigate/cnigate/plugin/netconf"
	"github.com/cnigate/cnigate/plugin/rules"
)

// UninstallOptions are the paths and config of `podnet-agent uninstall`.
type UninstallOptions struct {
	Config     *Config
	CNIBinDir  string
	CNIConfDir string
	Log        *slog.Logger
}

// Uninstall removes what the agent put on the node and nothing else: the
// ready stamp first (so STATUS turns the node NotReady before its network
// goes), the conflist it wrote, the binaries it installed that still have
// the hash it recorded (a binary it replaced is restored instead), the
// temporary files a killed agent left, its routes (by RouteProtocol) and
// its iptables rules (by comment). Pods' state in podnet's store and the sysctls stay.
// Every part is tried; the failures are returned together.
func Uninstall(o UninstallOptions) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	c := o.Config
	state := rules.AgentDir(c.DataDir)
	var errs []error
	for _, f := range []string{rules.ReadyFile, rules.DefectFile} {
		if err := os.Remove(filepath.Join(state, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}

	conf := filepath.Join(o.CNIConfDir, ConflistName)
	switch ours, err := isOurConflist(conf); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, err)
	case !ours:
		log.Warn("leaving a conflist podnet-agent did not write", "path", conf)
	default:
		if err := os.Remove(conf); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("removed CNI conf", "path", conf)
		}
	}

	if err := uninstallBinaries(state, o.CNIBinDir, log); err != nil {
		errs = append(errs, err)
	}
	removed, err := sweepTemps(o.CNIBinDir, o.CNIConfDir, state, Binaries)
	if len(removed) > 0 {
		log.Info("removed temporary files a killed agent left", "files", removed)
	}
	if err != nil {
		errs = append(errs, err)
	}

	h, err := netlinksafe.NewHandle()
	if err != nil {
		errs = append(errs, err)
	} else {
		n, err := routeTable{h: h}.deleteOurs()
		h.Close()
		log.Info("removed routes", "count", n, "protocol", RouteProtocol)
		if err != nil {
			errs = append(errs, err)
		}
	}

	var t ruleTables
	plan, err := t.reconcile(c.Name, c.families(), nil)
	log.Info("removed iptables rules", "count", len(plan.Delete), "comment", rules.Comment(c.Name))
	if err != nil {
		errs = append(errs, err)
	}

	if err := os.Remove(state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("agent state directory not removed", "path", state, "err", err)
	}
	return errors.Join(errs...)
}

// uninstallBinaries removes the binaries the agent installed that still
// have the hash it recorded, or puts back the file it replaced (backed up
// in state/replaced/). What could not be removed or restored stays recorded
// in installed.json, for the next uninstall; the file goes once empty.
func uninstallBinaries(state, binDir string, log *slog.Logger) error {
	installed, err := ReadInstalled(state)
	if err != nil {
		return err
	}
	var errs []error
	left := Installed{}
	for path, sum := range installed {
		if filepath.Dir(path) != filepath.Clean(binDir) {
			log.Warn("installed.json names a binary outside --cni-bin-dir; left alone", "path", path)
			left[path] = sum
			continue
		}
		backup := filepath.Join(state, ReplacedDir, filepath.Base(path))
		_, err := os.Stat(backup)
		hasBackup := err == nil
		have, err := sha256File(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !hasBackup:
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
			left[path] = sum
		case err == nil && have != sum:
			log.Warn("leaving a binary that changed since podnet-agent installed it", "path", path)
			if hasBackup {
				log.Warn("the binary podnet-agent replaced is kept", "path", backup)
			}
		case hasBackup:
			// Copied back (another mount), then the backup goes.
			if err := restore(backup, path); err != nil {
				errs = append(errs, fmt.Errorf("restoring %s: %w", path, err))
				left[path] = sum
				continue
			}
			log.Info("restored the binary podnet-agent had replaced", "path", path)
			if err := os.Remove(backup); err != nil {
				errs = append(errs, err)
			}
		default:
			if err := os.Remove(path); err != nil {
				errs = append(errs, err)
				left[path] = sum
			} else {
				log.Info("removed binary", "path", path)
			}
		}
	}
	_ = os.Remove(filepath.Join(state, ReplacedDir)) // only when empty
	if len(left) > 0 {
		errs = append(errs, writeInstalled(state, left))
	} else if err := os.Remove(filepath.Join(state, InstalledFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// restore copies a backed-up binary back to path, with its mode.
func restore(backup, path string) error {
	st, err := os.Stat(backup)
	if err != nil {
		return err
	}
	return copyAtomic(backup, path, tempPrefix(filepath.Base(path)), st.Mode().Perm(), "")
}

// isOurConflist reports whether path is a conflist the agent wrote: its
// first plugin is podnet with "nodeAgent": true.
func isOurConflist(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var list struct {
		// Only the two keys: a foreign conflist's other keys may be anything.
		Plugins []struct {
			Type      string `json:"type"`
			NodeAgent bool   `json:"nodeAgent"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return len(list.Plugins) > 0 && list.Plugins[0].Type == netconf.Type && list.Plugins[0].NodeAgent, nil
}

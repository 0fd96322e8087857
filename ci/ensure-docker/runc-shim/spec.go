package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// globalFlagsWithValue are runc's global flags that take a separate value.
var globalFlagsWithValue = map[string]bool{
	"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true,
}

// fixInvocation edits the files named by a runc command line so that they no
// longer ask for the capabilities in drop, and returns the (possibly edited)
// arguments. Problems are reported and otherwise ignored: runc then fails with
// its own, clearer, error.
func fixInvocation(args []string, drop map[string]bool) []string {
	sub := -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			sub = i
			break
		}
		if globalFlagsWithValue[a] {
			i++
		}
	}
	if sub < 0 {
		return args
	}
	rest := args[sub+1:]
	switch args[sub] {
	case "create", "run":
		bundle := "."
		if v, ok := flagValue(rest, "--bundle", "-b"); ok {
			bundle = v
		}
		if err := fixSpecFile(filepath.Join(bundle, "config.json"), false, drop); err != nil {
			warn("%v", err)
		}
	case "exec":
		if v, ok := flagValue(rest, "--process", "-p"); ok {
			if err := fixSpecFile(v, true, drop); err != nil {
				warn("%v", err)
			}
		}
		rest = dropCapFlags(rest, drop)
	}
	return append(args[:sub+1:sub+1], rest...)
}

// flagValue finds "--name value", "--name=value", "-n value" or "-n=value".
func flagValue(args []string, long, short string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, n := range []string{long, short} {
			if a == n && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// dropCapFlags removes `exec --cap X` / `-c X` pairs asking for a capability in drop.
func dropCapFlags(args []string, drop map[string]bool) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--cap" || a == "-c") && i+1 < len(args) && drop[args[i+1]] {
			i++
			continue
		}
		if v, ok := strings.CutPrefix(a, "--cap="); ok && drop[v] {
			continue
		}
		out = append(out, a)
	}
	return out
}

// fixSpecFile rewrites the capability lists of an OCI runtime spec
// (isProcess=false: a bundle's config.json) or of an OCI process
// (isProcess=true: runc exec --process), keeping every other field as is.
func fixSpecFile(path string, isProcess bool, drop map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, changed, err := fixSpec(data, isProcess, drop)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}

func fixSpec(data []byte, isProcess bool, drop map[string]bool) ([]byte, bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, false, err
	}
	proc := doc
	if !isProcess {
		raw, ok := doc["process"]
		if !ok {
			return data, false, nil
		}
		proc = nil // a fresh map: Unmarshal into doc's map would merge into doc
		if err := json.Unmarshal(raw, &proc); err != nil {
			return nil, false, fmt.Errorf("process: %w", err)
		}
	}
	rawCaps, ok := proc["capabilities"]
	if !ok {
		return data, false, nil
	}
	var caps map[string][]string
	if err := json.Unmarshal(rawCaps, &caps); err != nil {
		return nil, false, fmt.Errorf("process.capabilities: %w", err)
	}
	changed := false
	for set, list := range caps {
		filtered, c := filterCaps(list, drop)
		caps[set] = filtered
		changed = changed || c
	}
	if !changed {
		return data, false, nil
	}
	var err error
	if proc["capabilities"], err = json.Marshal(caps); err != nil {
		return nil, false, err
	}
	if !isProcess {
		if doc["process"], err = json.Marshal(proc); err != nil {
			return nil, false, err
		}
	}
	out, err := json.Marshal(doc)
	return out, true, err
}

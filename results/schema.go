package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// Spec is what a type says about its kind of file.
type Spec struct {
	Kind Kind
	// Version is the version this code writes; Oldest the oldest it reads
	// (0: files from before schema versions, without a "schema" field).
	Version, Oldest int
}

// String is the value of the "schema" field: "<kind>/v<version>".
func (s Spec) String() string { return fmt.Sprintf("%s/v%d", s.Kind, s.Version) }

// readable names the versions this code reads, for error messages.
func (s Spec) readable() string {
	if s.Oldest == s.Version {
		return fmt.Sprintf("%s/v%d only", s.Kind, s.Version)
	}
	return fmt.Sprintf("%s/v%d to %s/v%d", s.Kind, s.Oldest, s.Kind, s.Version)
}

// File is a kind of results file (see the package doc for the conventions).
type File interface {
	// Spec names the kind and the versions the type writes and reads.
	Spec() Spec
	// Check refuses a value that is no run of its kind.
	Check() error
	// schemaField is the value's "schema" field.
	schemaField() *string
	// upgrade brings a value decoded from version from up to Spec().Version.
	upgrade(from int) error
}

var schemaRE = regexp.MustCompile(`^([a-z0-9-]+)/v(0|[1-9][0-9]*)$`)

// ParseSchema splits a "schema" value into its kind and version.
func ParseSchema(s string) (Kind, int, error) {
	m := schemaRE.FindStringSubmatch(s)
	if m == nil {
		return "", 0, fmt.Errorf("schema %q: want <kind>/v<N>, e.g. %q", s, Spec{Kind: KindMatrix, Version: 1})
	}
	v, err := strconv.Atoi(m[2])
	return Kind(m[1]), v, err
}

// Decode reads one file of f's kind into f: unknown fields refused, a file
// of another kind or of a version this code does not read refused with a
// message naming both, an older version upgraded, and the value checked.
func Decode(r io.Reader, f File) error {
	want := f.Spec()
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("want a %s file, one JSON object: %w", want.Kind, err)
	}
	from, schema := 0, ""
	if raw, ok := top["schema"]; ok {
		if err := json.Unmarshal(raw, &schema); err != nil {
			return fmt.Errorf(`"schema": %w`, err)
		}
		kind, v, err := ParseSchema(schema)
		switch {
		case err != nil:
			return err
		case kind != want.Kind:
			return fmt.Errorf("a %s file (schema %q), not %s", kind, schema, want.Kind)
		case v < want.Oldest || v > want.Version:
			return fmt.Errorf("schema %q: this cnigate reads %s", schema, want.readable())
		}
		from = v
	} else {
		if want.Oldest > 0 {
			return fmt.Errorf(`no "schema" field: this cnigate reads %s`, want.readable())
		}
		for key, kind := range v0Markers {
			if _, ok := top[key]; ok && kind != want.Kind {
				return fmt.Errorf(`a %s file (no "schema" field: v0, it has %q), not %s`, kind, key, want.Kind)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		if schema == "" {
			return fmt.Errorf(`no "schema" field, read as %s/v0 (the files from before schema versions): %w`, want.Kind, err)
		}
		return fmt.Errorf("%s: %w", schema, err)
	}
	if from < want.Version {
		if err := f.upgrade(from); err != nil {
			return fmt.Errorf("%s/v%d: %w", want.Kind, from, err)
		}
	}
	*f.schemaField() = want.String()
	if err := f.Check(); err != nil {
		return fmt.Errorf("%s: %w", want.Kind, err)
	}
	return nil
}

// ReadFile decodes the file at path (errors name it).
func ReadFile(path string, f File) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = file.Close() }()
	if err := Decode(file, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Encode writes f as indented JSON with its "schema" set to the current
// version.
func Encode(w io.Writer, f File) error {
	*f.schemaField() = f.Spec().String()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // cell names are "from->to"; no file is pasted into HTML
	return enc.Encode(f)
}

// WriteFile writes f to path (creating its directory).
func WriteFile(path string, f File) error {
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

package confcheck

import (
	"regexp"
	"testing"
)

// TestName: the hand-written name check agrees with the CNI spec's regexp,
// on a table of edge cases and on every string of up to three characters
// over an alphabet holding each character class.
func TestName(t *testing.T) {
	spec := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)
	tests := []struct {
		name string
		ok   bool
	}{
		{"podnet", true}, {"a", true}, {"0net", true}, {"my_net.v1-2", true}, {"Z", true},
		{"", false}, {"-net", false}, {"_net", false}, {".net", false}, {"my net", false},
		{"net/1", false}, {"net\x00", false}, {"nét", false}, {"net\n", false},
	}
	for _, tt := range tests {
		if got := Name(tt.name) == nil; got != tt.ok {
			t.Errorf("Name(%q) accepted: %v, want %v", tt.name, got, tt.ok)
		}
	}
	alphabet := []byte("aZ09_.-/ \xc3")
	var walk func(prefix []byte)
	walk = func(prefix []byte) {
		if got, want := validName(string(prefix)), spec.Match(prefix); got != want {
			t.Errorf("validName(%q) = %v, the spec's regexp says %v", prefix, got, want)
		}
		if len(prefix) == 3 {
			return
		}
		for _, c := range alphabet {
			walk(append(prefix, c))
		}
	}
	walk(nil)
}

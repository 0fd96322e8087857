package agent

import (
	"encoding/json"
	"testing"
)

// FuzzParseConfig: any input is refused with an error or accepted as a
// config with at least one family that survives a round trip unchanged.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte(`{"network6":"fd00:10:244::/56","routes":"none"}`))
	f.Add([]byte(`{"network":"10.244.0.0/16","Network":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if len(c.families()) == 0 {
			t.Fatalf("%q accepted without a family", data)
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(again)
		if err != nil || *c2 != *c {
			t.Fatalf("%q: round trip gives %+v, %v; want %+v", data, c2, err, c)
		}
	})
}

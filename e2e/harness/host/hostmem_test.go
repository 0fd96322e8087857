package host

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseMemUsed(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     uint64 // bytes
		err      string // a part of the error, "" for none
	}{
		{name: "used = total - available", in: "MemTotal:       24684356 kB\nMemFree:        15942676 kB\nMemAvailable:   23495676 kB\nBuffers:          123 kB\n",
			want: (24684356 - 23495676) * 1024},
		{name: "order does not matter", in: "MemAvailable: 1000 kB\nMemTotal: 3000 kB\n", want: 2000 * 1024},
		{name: "no MemAvailable", in: "MemTotal: 3000 kB\nMemFree: 1000 kB\n", err: "no MemAvailable"},
		{name: "empty", in: "", err: "no MemTotal"},
		{name: "not a number", in: "MemTotal: lots kB\nMemAvailable: 1 kB\n", err: "MemTotal"},
		{name: "another unit", in: "MemTotal: 3000 MB\nMemAvailable: 1 kB\n", err: `want "<n> kB"`},
		{name: "available over total", in: "MemTotal: 1000 kB\nMemAvailable: 2000 kB\n", err: "> MemTotal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseMemUsed(strings.NewReader(c.in))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want one containing %q", err, c.err)
			case got != c.want:
				t.Errorf("used %d, want %d", got, c.want)
			}
		})
	}
}

func TestMemPeak(t *testing.T) {
	for _, c := range []struct {
		name              string
		samples           []uint64
		start, peak, rise uint64
	}{
		{name: "none", samples: nil},
		{name: "one", samples: []uint64{5}, start: 5, peak: 5},
		{name: "rises then falls", samples: []uint64{10, 30, 25, 12}, start: 10, peak: 30, rise: 20},
		{name: "falls below the start", samples: []uint64{10, 4, 8}, start: 10, peak: 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p MemPeak
			for _, s := range c.samples {
				p.Observe(s)
			}
			st := p.Stats()
			if st.Start != c.start || st.Peak != c.peak || st.Rise() != c.rise || st.Samples != len(c.samples) {
				t.Errorf("got start %d peak %d rise %d samples %d, want %d %d %d %d", st.Start, st.Peak, st.Rise(), st.Samples, c.start, c.peak, c.rise, len(c.samples))
			}
		})
	}
}

// The sampler reads this host's /proc/meminfo: at least the first and the
// last sample, a peak no lower than the start.
func TestSampleHostMemory(t *testing.T) {
	stop := SampleHostMemory(context.Background(), time.Hour)
	st := stop()
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Samples < 2 || st.Start == 0 || st.Peak < st.Start {
		t.Errorf("got %+v", st)
	}
	if again := stop(); again.Samples != st.Samples {
		t.Errorf("a second stop sampled again: %d then %d samples", st.Samples, again.Samples)
	}
}

func TestMiB(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 1 << 20: "1", 3<<20 + 600<<10: "4", 3<<20 + 100<<10: "3"} {
		if got := MiB(in); got != want {
			t.Errorf("MiB(%d) = %s, want %s", in, got, want)
		}
	}
}

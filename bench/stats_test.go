package main

import (
	"net"
	"testing"
	"time"
)

// Only the arithmetic is tested: timings are measured, never asserted.
func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
}

func TestMedianAndRatio(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if got := ratio(1, 3); got != 0.33 {
		t.Errorf("ratio = %v", got)
	}
	if got := ratio(1, 0); got != 0 {
		t.Errorf("ratio over zero = %v", got)
	}
}

func TestParseMaxRSS(t *testing.T) {
	kib, err := parseMaxRSS([]byte("plugin noise\n\nmaxrss-kib=4980\n"))
	if err != nil || kib != 4980 {
		t.Fatalf("parseMaxRSS = %d, %v", kib, err)
	}
	if _, err := parseMaxRSS([]byte("no line")); err == nil {
		t.Fatal("parseMaxRSS accepted stderr without the line")
	}
}

func TestFloorAddresses(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.99.1.0/24")
	c := &contender{spec: spec{subnet: subnet}}
	if c.gateway().String() != "10.99.1.1" || c.podAddress(0).String() != "10.99.1.2" || c.podAddress(199).String() != "10.99.1.201" {
		t.Fatalf("gateway %s, pod 0 %s, pod 199 %s", c.gateway(), c.podAddress(0), c.podAddress(199))
	}
}

package matrix

import (
	"errors"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/e2e/harness/host"
)

func TestHostMemMeta(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name     string
		hostMem  func() host.MemPeakStats
		wantMeta map[string]string
		wantLine string
	}{
		{name: "existing cluster: not measured", wantMeta: map[string]string{"host_mem": "not measured: existing cluster, it runs elsewhere"},
			wantLine: "not measured (existing cluster"},
		{name: "kind: peak and rise", hostMem: func() host.MemPeakStats {
			return host.MemPeakStats{Start: 1000 * mib, Peak: 3500 * mib, Samples: 120}
		},
			wantMeta: map[string]string{"host_mem_start_mib": "1000", "host_mem_peak_mib": "3500", "host_mem_rise_mib": "2500"},
			wantLine: "peak 3500 MiB, +2500 MiB over the start (1000 MiB), 120 samples"},
		{name: "kind: meminfo unreadable", hostMem: func() host.MemPeakStats { return host.MemPeakStats{Err: errors.New("no /proc")} },
			wantMeta: map[string]string{"host_mem": "not measured: no /proc"}, wantLine: "not measured (no /proc)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			meta := map[string]string{}
			line := hostMemMeta(&suite{bookkeeping: bookkeeping{hostMem: c.hostMem}}, meta)
			if len(meta) != len(c.wantMeta) {
				t.Errorf("meta %v, want %v", meta, c.wantMeta)
			}
			for k, v := range c.wantMeta {
				if meta[k] != v {
					t.Errorf("meta[%s] = %q, want %q", k, meta[k], v)
				}
			}
			if !strings.Contains(line, c.wantLine) {
				t.Errorf("line %q lacks %q", line, c.wantLine)
			}
		})
	}
}

func TestDefaultParallel(t *testing.T) {
	for workers, want := range map[int]int{0: 4, 2: 4, 3: 6, 4: 8, 8: 16} {
		if got := DefaultParallel(workers); got != want {
			t.Errorf("DefaultParallel(%d) = %d, want %d", workers, got, want)
		}
	}
}

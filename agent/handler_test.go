package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestHandler(t *testing.T) {
	a, err := New(Options{NodeName: "self", Config: mustConfig(t, `{"network":"10.244.0.0/16"}`), Period: time.Second, Client: fake.NewClientset(), Log: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.routes.h.Close)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	tests := []struct {
		name    string
		setup   func()
		path    string
		code    int
		mention string
	}{
		{"alive before the first reconcile", func() {}, "/healthz", 200, "ok"},
		{"not ready before a reconcile", func() {}, "/readyz", 503, "not ready"},
		{"ready after one", func() { a.ready.Store(true) }, "/readyz", 200, "ok"},
		{"metrics", func() {}, "/metrics", 200, `podnet_agent_build_info{commit="` + Commit + `",version="` + Version + `"} 1`},
		{"every step's error counter", func() {}, "/metrics", 200, `podnet_agent_reconcile_errors_total{step="routes"} 0`},
		{"wedged reconcile", func() { a.lastLoop.Store(time.Now().Add(-2 * time.Minute).UnixNano()) }, "/healthz", 503, "no reconcile finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			code, body := get(tt.path)
			if code != tt.code || !strings.Contains(body, tt.mention) {
				t.Fatalf("%s: %d %q; want %d with %q", tt.path, code, body, tt.code, tt.mention)
			}
		})
	}
	if _, err := New(Options{Config: a.cfg, Period: time.Second, Client: fake.NewClientset()}); err == nil || !strings.Contains(err.Error(), "--node-name") {
		t.Fatalf("no node name: %v", err)
	}
}

package cnigate

import (
	"strings"
	"testing"
)

func TestPublishedNodeImageIsAPinnedKindestNodeRef(t *testing.T) {
	ref := PublishedNodeImage()
	if !strings.HasPrefix(ref, "kindest/node:v") || !strings.Contains(ref, "@sha256:") {
		t.Errorf("PublishedNodeImage() = %q, want kindest/node:v...@sha256:... from ci/versions.sh", ref)
	}
}

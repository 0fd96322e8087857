package conformance

import (
	"io"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/internal/xfail"
)

// DecideKnownFailures judges a run against a plugin known to fail some specs
// (internal/xfail, shared with the e2e's upstream Kubernetes conformance stage).
func DecideKnownFailures(specs []types.SpecReport, known []byte, knownName string, out io.Writer) (bool, error) {
	return xfail.Decide(specs, known, knownName, out)
}

// ParseKnownFailures parses a known-failures list into spec text -> reason.
func ParseKnownFailures(data []byte, name string) (map[string]string, error) {
	return xfail.Parse(data, name)
}

// BriefReason is a known failure's reason without its intermittent marker.
func BriefReason(why string) string { return xfail.BriefReason(why) }

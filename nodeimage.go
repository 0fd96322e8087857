package cnigate

import (
	"regexp"
	"strings"
)

var publishedNodeImage = regexp.MustCompile(`(?m)^PUBLISHED_NODE_IMAGE=([^\s#]+)`)

// PublishedNodeImage is the kind node image kind publishes for the pinned
// Kubernetes minor (ci/versions.sh's PUBLISHED_NODE_IMAGE), "" if the file
// does not name one.
func PublishedNodeImage() string {
	m := publishedNodeImage.FindStringSubmatch(versionsSh)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"'`)
}

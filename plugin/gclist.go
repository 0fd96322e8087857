package main

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// gcEntryKeys are the keys the CNI spec gives each entry of GC's list.
var gcEntryKeys = []string{"containerID", "ifname"}

// parseGCList reads one GC list (field names it in errors). The spec makes
// each entry an object with a "containerID" and an "ifname"; an entry
// without one of them, with one that is empty or not a string, or with a key
// that differs from them only in case (which Go's JSON would silently take)
// names no attachment, and reading it as "matches nothing" would release a
// live pod: the whole list is refused (code 7) and nothing is released.
// Other keys are ignored (a later spec may add some). JSON null is an empty
// list, as libcni sends it.
func parseGCList(field string, raw json.RawMessage) ([]ipam.Attachment, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, invalid(field, "not a list of attachments: %v", err)
	}
	out := make([]ipam.Attachment, 0, len(entries))
	for i, e := range entries {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e, &obj); err != nil || obj == nil {
			return nil, invalid(field, "entry %d is not an object with %q and %q: %s", i, "containerID", "ifname", truncateJSON(e))
		}
		for key := range obj {
			for _, want := range gcEntryKeys {
				if key != want && strings.EqualFold(key, want) {
					return nil, invalid(field, "entry %d: keys are case-sensitive: %q, not %q", i, want, key)
				}
			}
		}
		var values [2]string
		for j, key := range gcEntryKeys {
			v, ok := obj[key]
			if !ok {
				return nil, invalid(field, "entry %d has no %q (each entry names an attachment by containerID and ifname): %s", i, key, truncateJSON(e))
			}
			if err := json.Unmarshal(v, &values[j]); err != nil || values[j] == "" {
				return nil, invalid(field, "entry %d: %q must be a non-empty string, not %s", i, key, truncateJSON(v))
			}
		}
		out = append(out, ipam.Attachment{ContainerID: values[0], IfName: values[1]})
	}
	return out, nil
}

// truncateJSON keeps error messages short whatever the runtime sent.
func truncateJSON(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 80 {
		return string(raw[:80]) + "..."
	}
	return string(raw)
}

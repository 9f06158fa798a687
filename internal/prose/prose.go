// Package prose holds the small helpers certkit's messages are written
// with.
package prose

import "strings"

// AndList joins items as "a, b and c": "a and b" for two, the item alone
// for one, "" for none.
func AndList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

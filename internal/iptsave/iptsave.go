// Package iptsave parses the rule lines `iptables -S` and `iptables-save`
// print. It is neutral ground: podnet's agent (which reconciles its rules)
// and the e2e harness (which tampers with them on kind nodes) both read these
// lines, and neither may import the other.
package iptsave

import (
	"errors"
	"strings"
)

// ParseRuleLine parses a line of `iptables -S <chain>` ("-A FORWARD -s ...
// -m comment --comment "podnet: x" -j ACCEPT") into its chain and rule
// spec; other lines (-P, -N) and malformed ones are not rules (ok false).
func ParseRuleLine(line string) (chain string, spec []string, ok bool) {
	words, err := Split(line)
	if err != nil || len(words) < 2 || words[0] != "-A" {
		return "", nil, false
	}
	return words[1], words[2:], true
}

// Split splits a line of iptables-save output into words: double quotes
// group, a backslash escapes the next character.
func Split(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == '"':
			quoted = !quoted
			inWord = true
		case (ch == ' ' || ch == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Package suggest finds the name a person most likely meant: the nearest
// of some known names by edit distance, for "did you mean" hints.
package suggest

import (
	"strings"
	"unicode"
)

// Closest returns the name in names closest to name, or "" if none is
// close. Names are compared without regard to case, spaces, '_' and '-',
// and a small number of typing errors is tolerated: fewer than three, and
// at most one for every three runes of name.
func Closest(names []string, name string) string {
	key := Fold(name)
	best, bestDist := "", 3
	for _, h := range names {
		if h == "" || h == name {
			continue
		}
		k := Fold(h)
		if k == key {
			return h
		}
		if d := Distance(k, key); d < bestDist && 3*d <= len([]rune(key)) {
			best, bestDist = h, d
		}
	}
	return best
}

// Fold returns s in lower case without spaces, '_' and '-'.
func Fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '_', '-':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// Distance returns the optimal string alignment distance between a and b:
// the number of rune insertions, deletions, substitutions and
// transpositions of adjacent runes that turn a into b.
func Distance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// d[i][j] is the distance between s[:i] and t[:j]; three rows suffice.
	prev2, prev, cur := make([]int, len(t)+1), make([]int, len(t)+1), make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(t)]
}

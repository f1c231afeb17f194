package dataset

import (
	"sort"
	"strings"
)

// sortNatural sorts names so that runs of digits compare by numeric value:
// "2.png" comes before "10.png". Names that compare equal that way (such as
// "7.png" and "07.png") fall back to plain string order.
func sortNatural(names []string) {
	sort.SliceStable(names, func(i, j int) bool {
		if c := compareNatural(names[i], names[j]); c != 0 {
			return c < 0
		}
		return names[i] < names[j]
	})
}

// compareNatural returns -1, 0 or +1 as a sorts before, with, or after b.
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		chunkA, restA := nextChunk(a)
		chunkB, restB := nextChunk(b)
		if c := compareChunks(chunkA, chunkB); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	default:
		return 1
	}
}

// nextChunk splits s into its leading run of digits or of non-digits, and the rest.
func nextChunk(s string) (chunk, rest string) {
	digits := isDigit(s[0])
	end := 1
	for end < len(s) && isDigit(s[end]) == digits {
		end++
	}
	return s[:end], s[end:]
}

// compareChunks compares two digit runs by value and anything else as strings.
func compareChunks(a, b string) int {
	if isDigit(a[0]) && isDigit(b[0]) {
		a = strings.TrimLeft(a, "0")
		b = strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

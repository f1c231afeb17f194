package main

import (
	"testing"
	"time"
)

func TestCombinePeerRuns(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		runs []peerRun
		want peerResult
	}{
		{
			name: "tuned allocator faster over three rounds",
			runs: []peerRun{
				{defaultMedian: 100 * ms, tunedMedian: 90 * ms, defaultRSS: 10, tunedRSS: 12},
				{defaultMedian: 120 * ms, tunedMedian: 130 * ms, defaultRSS: 11, tunedRSS: 13},
				{defaultMedian: 110 * ms, tunedMedian: 95 * ms, defaultRSS: 9, tunedRSS: 11},
			},
			want: peerResult{median: 95 * ms, maxRSS: 13, defaultMedian: 110 * ms},
		},
		{
			name: "default allocator faster over two rounds",
			runs: []peerRun{
				{defaultMedian: 100 * ms, tunedMedian: 140 * ms, defaultRSS: 10, tunedRSS: 12},
				{defaultMedian: 120 * ms, tunedMedian: 130 * ms, defaultRSS: 11, tunedRSS: 13},
			},
			want: peerResult{median: 110 * ms, maxRSS: 11, defaultMedian: 110 * ms},
		},
		{
			name: "default allocator only",
			runs: []peerRun{{defaultMedian: 57 * ms, defaultRSS: 340}},
			want: peerResult{median: 57 * ms, maxRSS: 340, defaultMedian: 57 * ms},
		},
	}
	for _, tt := range tests {
		if got := combinePeerRuns(tt.runs); got != tt.want {
			t.Errorf("%s: combinePeerRuns = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

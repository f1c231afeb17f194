package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock returns a clock that advances only when advance is called.
func fakeClock(start time.Time) (now func() time.Time, advance func(time.Duration)) {
	current := start
	return func() time.Time { return current }, func(d time.Duration) { current = current.Add(d) }
}

func TestLineShowsCountRateAndTimeLeft(t *testing.T) {
	now, advance := fakeClock(time.Unix(0, 0))
	b := New(&bytes.Buffer{}, "DCGAN", 0, 10, false)
	b.now = now
	b.started = now()
	advance(2 * time.Second)
	line := b.Line(4, "G 0.9")
	for _, want := range []string{"DCGAN", "4/10", "500ms/it", "3s left", "| G 0.9"} {
		if !strings.Contains(line, want) {
			t.Errorf("Line(4) = %q, want it to contain %q", line, want)
		}
	}
	if filled := strings.Count(line, "█"); filled != 12 {
		t.Errorf("Line(4) of 10 fills %d of %d cells, want 12", filled, barWidth)
	}
}

func TestResumedBarRatesOnlyNewSteps(t *testing.T) {
	now, advance := fakeClock(time.Unix(0, 0))
	b := New(&bytes.Buffer{}, "run", 100, 200, false)
	b.now = now
	b.started = now()
	advance(10 * time.Second)
	if line := b.Line(110, ""); !strings.Contains(line, "1s/it") {
		t.Errorf("Line(110) after resuming at 100 = %q, want 1s/it", line)
	}
}

func TestPlainBarWritesLinesAtInterval(t *testing.T) {
	now, advance := fakeClock(time.Unix(0, 0))
	var out bytes.Buffer
	b := New(&out, "run", 0, 100, true)
	b.now = now
	b.started = now()
	for step := 1; step < 100; step++ {
		advance(time.Second)
		b.Update(step, "")
	}
	b.Finish(100, "done")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// One line every 5 s over 99 s, then the final one.
	if len(lines) != 21 {
		t.Errorf("plain bar wrote %d lines, want 21:\n%s", len(lines), out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("plain bar wrote a carriage return")
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "100/100") || !strings.Contains(last, "done") {
		t.Errorf("last line %q, want the final count and status", last)
	}
}

func TestRateExcludesFirstStep(t *testing.T) {
	now, advance := fakeClock(time.Unix(0, 0))
	b := New(&bytes.Buffer{}, "run", 0, 100, false)
	b.now = now
	b.started = now()
	advance(30 * time.Second) // the first step compiles the graphs
	b.Update(1, "")
	if line := b.Line(1, ""); strings.Contains(line, "/it") || strings.Contains(line, "left") {
		t.Errorf("Line(1) after the first step = %q, want no rate and no time left", line)
	}
	advance(10 * time.Second)
	if line := b.Line(11, ""); !strings.Contains(line, "1s/it") || !strings.Contains(line, "1m29s left") {
		t.Errorf("Line(11) = %q, want 1s/it and 1m29s left", line)
	}
}

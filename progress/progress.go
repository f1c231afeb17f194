// Package progress draws a text progress bar for long training runs, in a
// terminal and in a Jupyter cell's output.
//
// A bar redraws one line with a carriage return. Redraws are rate limited
// (every 250 ms by default, and every 5 s when Plain is set, for logs that
// keep every line), and Finish ends the line.
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// barWidth is the number of cells of the bar.
const barWidth = 30

// Bar is a progress bar of total steps. It is not safe for concurrent use.
type Bar struct {
	out      io.Writer
	label    string
	total    int
	start    int
	started  time.Time
	lastDraw time.Time
	interval time.Duration
	// Plain writes one line per redraw instead of redrawing in place, for
	// outputs that are logs rather than terminals.
	plain bool
	now   func() time.Time
	// firstStep and firstStepAt mark the first step that Update saw. The
	// rate is measured from there, so that the time the first step spent
	// compiling graphs does not inflate the estimate of the time left.
	firstStep   int
	firstStepAt time.Time
}

// New starts a bar labelled label that goes from done to total steps;
// done > 0 when a run resumes. When plain is true, each redraw is a new
// line, at most every 5 seconds.
func New(out io.Writer, label string, done, total int, plain bool) *Bar {
	b := &Bar{out: out, label: label, total: total, start: done, interval: 250 * time.Millisecond, plain: plain, now: time.Now}
	if plain {
		b.interval = 5 * time.Second
	}
	b.started = b.now()
	return b
}

// Update redraws the bar at done steps with a status text such as the
// latest losses, unless the last redraw was too recent.
func (b *Bar) Update(done int, status string) {
	now := b.now()
	if b.firstStepAt.IsZero() && done > b.start {
		b.firstStep, b.firstStepAt = done, now
	}
	if done >= b.total || now.Sub(b.lastDraw) < b.interval {
		// Finish draws the last state.
		return
	}
	b.lastDraw = now
	line := b.Line(done, status)
	if b.plain {
		fmt.Fprintln(b.out, line)
		return
	}
	fmt.Fprintf(b.out, "\r%s\x1b[K", line)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish(done int, status string) {
	line := b.Line(done, status)
	if b.plain {
		fmt.Fprintln(b.out, line)
		return
	}
	fmt.Fprintf(b.out, "\r%s\x1b[K\n", line)
}

// Line formats the bar at done steps: label, bar, count, rate and the time
// left, then status. Once Update has seen a first step, the rate counts only
// the steps after it, and until a later step the line shows no rate, since
// the first step's time is mostly compiling.
func (b *Bar) Line(done int, status string) string {
	fraction := 0.0
	if b.total > 0 {
		fraction = min(1, max(0, float64(done)/float64(b.total)))
	}
	filled := int(fraction * barWidth)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
	elapsed := b.now().Sub(b.started)
	stepsRun := done - b.start
	if !b.firstStepAt.IsZero() {
		elapsed = b.now().Sub(b.firstStepAt)
		stepsRun = done - b.firstStep
	}
	rate, left := "", ""
	if stepsRun > 0 && elapsed > 0 {
		perStep := elapsed / time.Duration(stepsRun)
		rate = fmt.Sprintf(" %s/it", roundDuration(perStep))
		left = fmt.Sprintf(" %s left", roundDuration(perStep*time.Duration(b.total-done)))
	}
	line := fmt.Sprintf("%s %s %d/%d%s%s", b.label, bar, done, b.total, rate, left)
	if status != "" {
		line += " | " + status
	}
	return line
}

// roundDuration keeps two or three significant figures.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

package plot

import (
	"fmt"
	"math"
	"strconv"
)

// tick is an axis position (on the axis scale) and its label.
type tick struct {
	value float64
	label string
}

// niceNumber returns a number of the form {1, 2, 5, 10} x 10^k close to x:
// the nearest one if round is set, else the smallest one not below x.
func niceNumber(x float64, round bool) float64 {
	exponent := math.Floor(math.Log10(x))
	power := math.Pow(10, exponent)
	fraction := x / power
	var nice float64
	switch {
	case round && fraction < 1.5, !round && fraction <= 1:
		nice = 1
	case round && fraction < 3, !round && fraction <= 2:
		nice = 2
	case round && fraction < 7, !round && fraction <= 5:
		nice = 5
	default:
		nice = 10
	}
	return nice * power
}

// linearTicks returns about target evenly spaced ticks with round steps that
// cover [lo, hi], and the axis range from the first to the last tick.
func linearTicks(lo, hi float64, target int) (axisLo, axisHi float64, ticks []tick) {
	if hi == lo {
		pad := math.Abs(lo) * 0.1
		if pad == 0 {
			pad = 1
		}
		lo, hi = lo-pad, hi+pad
	}
	step := niceNumber(niceNumber(hi-lo, false)/float64(max(target-1, 1)), true)
	first := math.Floor(lo/step + 1e-9)
	last := math.Ceil(hi/step - 1e-9)
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	for k := first; k <= last; k++ {
		v := k * step
		ticks = append(ticks, tick{value: v, label: formatLinear(v, step, decimals)})
	}
	return first * step, last * step, ticks
}

// formatLinear formats a tick value with the decimals its step needs,
// switching to exponent notation for very large or very small values.
func formatLinear(v, step float64, decimals int) string {
	if math.Abs(v) < step*1e-6 {
		return "0"
	}
	if math.Abs(v) >= 1e6 || step < 1e-4 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// logTicks returns ticks for an axis of log10 values spanning [lo, hi]. The
// axis spans whole decades; with at most two decades the ticks also mark 2x
// and 5x each power of ten.
func logTicks(lo, hi float64, target int) (axisLo, axisHi float64, ticks []tick) {
	first := math.Floor(lo + 1e-9)
	last := math.Ceil(hi - 1e-9)
	if last <= first {
		last = first + 1
	}
	decades := int(last - first)
	stride := max(1, (decades+target-1)/max(target, 1))
	last = first + float64(((decades+stride-1)/stride)*stride)

	for e := first; e <= last; e += float64(stride) {
		ticks = append(ticks, tick{value: e, label: formatPower(1, int(e))})
		if decades <= 2 && e < last {
			for _, m := range []float64{2, 5} {
				ticks = append(ticks, tick{value: e + math.Log10(m), label: formatPower(m, int(e))})
			}
		}
	}
	return first, last, ticks
}

// formatPower formats m x 10^e as a plain number when it is short, else as "me±k".
func formatPower(m float64, e int) string {
	if e >= -3 && e <= 5 {
		return strconv.FormatFloat(m*math.Pow(10, float64(e)), 'f', max(0, -e), 64)
	}
	return fmt.Sprintf("%ge%d", m, e)
}

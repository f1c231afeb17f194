package plot

import "math"

// sampleChart returns a chart of two noisy GAN-like loss curves with n points each.
func sampleChart(n int) Chart {
	g := Series{Name: "generator"}
	d := Series{Name: "discriminator"}
	for i := 0; i < n; i++ {
		x := float64(i * 10)
		g.X = append(g.X, x)
		d.X = append(d.X, x)
		g.Y = append(g.Y, 2+math.Exp(-float64(i)/300)*3+0.5*math.Sin(float64(i)*1.7))
		d.Y = append(d.Y, 0.3+0.2*math.Cos(float64(i)*2.3)+math.Exp(-float64(i)/200))
	}
	return Chart{Title: "DCGAN losses", XLabel: "step", YLabel: "loss", Series: []Series{g, d}}
}

package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"sort"
)

// ChartSeries is one line of a chart: a backend's figures for one scenario
// at each concurrency.
type ChartSeries struct {
	Label  string
	Points []ChartPoint
}

// ChartPoint is one measured concurrency.
type ChartPoint struct {
	Clients int
	// Rate is operations per second.
	Rate float64
	// CPUMs is the server's CPU milliseconds per operation (keyshift plus
	// PostgreSQL where measured); 0 when not measured.
	CPUMs float64
}

// SeriesFrom picks scenario's measurements, in order of concurrency.
func SeriesFrom(label, scenario string, ms []Measurement) ChartSeries {
	s := ChartSeries{Label: label}
	for _, m := range ms {
		if m.Scenario != scenario {
			continue
		}
		p := ChartPoint{Clients: m.Concurrency, Rate: m.Rate}
		if m.ServerCPUMs != nil {
			p.CPUMs = *m.ServerCPUMs
			if m.PostgresCPUMs != nil {
				p.CPUMs += *m.PostgresCPUMs
			}
		}
		s.Points = append(s.Points, p)
	}
	sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].Clients < s.Points[j].Clients })
	return s
}

// The chart's geometry: two panels side by side.
const (
	chartW, chartH     = 920, 390
	panelW, panelH     = 360, 250
	panelTop, panelGap = 82, 100
	panelLeft          = 70
)

var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

// Chart draws throughput (left) and server CPU per operation (right)
// against concurrency, one line per series, as a standalone SVG. The
// concurrency axis is logarithmic (1, 8, 32, 256 are the usual steps).
func Chart(title, subtitle string, series []ChartSeries) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", panelLeft, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="44" fill="#555">%s</text>`+"\n", panelLeft, html.EscapeString(subtitle))
	minC, maxC := math.MaxInt, 1
	for _, s := range series {
		for _, p := range s.Points {
			minC, maxC = min(minC, p.Clients), max(maxC, p.Clients)
		}
	}
	if minC == math.MaxInt {
		minC = 1
	}
	panel(&b, panelLeft, "operations per second", series, minC, maxC, func(p ChartPoint) float64 { return p.Rate })
	panel(&b, panelLeft+panelW+panelGap, "server CPU ms per operation", series, minC, maxC, func(p ChartPoint) float64 { return p.CPUMs })
	for i, s := range series {
		x := panelLeft + i*220
		y := panelTop + panelH + 50
		c := chartColors[i%len(chartColors)]
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/><circle cx="%d" cy="%d" r="3.5" fill="%s"/>`,
			x, y, x+24, y, c, x+12, y, c)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+30, y+4, html.EscapeString(s.Label))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// panel draws one plot at x0 of value against clients.
func panel(b *bytes.Buffer, x0 int, ylabel string, series []ChartSeries, minC, maxC int, value func(ChartPoint) float64) {
	top, bottom := float64(panelTop), float64(panelTop+panelH)
	left, right := float64(x0), float64(x0+panelW)
	maxV := 0.0
	for _, s := range series {
		for _, p := range s.Points {
			maxV = max(maxV, value(p))
		}
	}
	step := niceStep(maxV / 5)
	maxY := step * math.Ceil(maxV/step)
	if maxY == 0 {
		maxY, step = 1, 0.2
	}
	lx := func(c int) float64 {
		if maxC == minC {
			return (left + right) / 2
		}
		return left + (math.Log2(float64(c))-math.Log2(float64(minC)))/(math.Log2(float64(maxC))-math.Log2(float64(minC)))*(right-left)
	}
	ly := func(v float64) float64 { return bottom - v/maxY*(bottom-top) }
	fmt.Fprintf(b, `<g><text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", left, top-12, html.EscapeString(ylabel))
	for v := 0.0; v <= maxY+step/2; v += step {
		y := ly(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n",
			left, y, right, y, left-6, y+4, formatTick(v))
	}
	seen := map[int]bool{}
	for _, s := range series {
		for _, p := range s.Points {
			if seen[p.Clients] {
				continue
			}
			seen[p.Clients] = true
			x := lx(p.Clients)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/><text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%d</text>`+"\n",
				x, bottom, x, bottom+5, x, bottom+18, p.Clients)
		}
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n",
		left, bottom, right, bottom, left, top, left, bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">concurrent clients</text>`+"\n", (left+right)/2, bottom+34)
	for i, s := range series {
		c := chartColors[i%len(chartColors)]
		var pts bytes.Buffer
		for _, p := range s.Points {
			if value(p) <= 0 {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", lx(p.Clients), ly(value(p)))
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, %d clients: %s</title></circle>`+"\n",
				lx(p.Clients), ly(value(p)), c, html.EscapeString(s.Label), p.Clients, formatTick(value(p)))
		}
		if pts.Len() > 0 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", bytes.TrimSpace(pts.Bytes()), c)
		}
	}
	b.WriteString("</g>\n")
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Package chart draws the dashboard's charts as SVG on the server: no
// script, no CDN, and nothing the strict Content-Security-Policy refuses
// (no style attributes: colours come from classes in the stylesheet, sizes
// from SVG presentation attributes). Every text it writes is escaped.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Series is one stacked layer: a name for the legend and a value per point.
type Series struct {
	Name   string
	Values []int64
	// Class colours the layer (a class of the stylesheet); "" takes
	// "s<i>" by the series' place, .s0 to .s7 then round again.
	Class string
}

func (s Series) class(i int) string {
	if s.Class != "" {
		return s.Class
	}
	return fmt.Sprintf("s%d", i%8)
}

// Stacked is a stacked bar chart: one bar per label, each bar the sum of
// the series' values at that point.
type Stacked struct {
	// Title names the chart for assistive technology (<title>).
	Title string
	// Labels are the points' names on the x axis, one per bar; when there
	// are many, only some are written, evenly spaced.
	Labels []string
	Series []Series
	// YLabel names the y axis ("sign-ins").
	YLabel string
	// Empty is said in the plot when there is nothing to draw.
	Empty string
	// Width and Height of the drawing in user units (defaults 720 × 300).
	Width, Height int
}

// The plot's margins around the bars: room for the y axis' numbers on the
// left and the x axis' labels and the legend below.
const (
	marginLeft   = 56
	marginRight  = 12
	marginTop    = 12
	marginBottom = 64
	maxXLabels   = 8
)

// SVG returns the chart as an inline <svg> element. Series are drawn
// bottom to top in their order, each with its class.
func (c Stacked) SVG() template.HTML {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 720
	}
	if h <= 0 {
		h = 300
	}
	plotW, plotH := float64(w-marginLeft-marginRight), float64(h-marginTop-marginBottom)
	totals := make([]int64, len(c.Labels))
	for _, s := range c.Series {
		for i := range totals {
			if i < len(s.Values) {
				totals[i] += max(s.Values[i], 0)
			}
		}
	}
	var top int64
	for _, t := range totals {
		top = max(top, t)
	}
	scale, step := NiceScale(top)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	// The y axis: gridlines and their numbers.
	for v := int64(0); v <= scale; v += step {
		y := marginTop + plotH - plotH*float64(v)/float64(scale)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%s" y1="%s" y2="%s"/>`, marginLeft, num(marginLeft+plotW), num(y), num(y))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%d</text>`, marginLeft-6, num(y), v)
	}
	if c.YLabel != "" {
		fmt.Fprintf(&b, `<text class="axis-label" x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)">%s</text>`,
			num(marginTop+plotH/2), num(marginTop+plotH/2), esc(c.YLabel))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%s" y1="%s" y2="%s"/>`, marginLeft, num(marginLeft+plotW), num(marginTop+plotH), num(marginTop+plotH))
	if top == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%s" y="%s" text-anchor="middle">%s</text>`, num(marginLeft+plotW/2), num(marginTop+plotH/2), esc(c.Empty))
	}
	// The bars, stacked.
	n := len(c.Labels)
	if n > 0 {
		slot := plotW / float64(n)
		barW := math.Max(slot*0.7, 1)
		for i := range n {
			x := marginLeft + slot*float64(i) + (slot-barW)/2
			base := marginTop + plotH
			for si, s := range c.Series {
				if i >= len(s.Values) || s.Values[i] <= 0 || top == 0 {
					continue
				}
				bh := plotH * float64(s.Values[i]) / float64(scale)
				base -= bh
				fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s · %s: %d</title></rect>`,
					esc(s.class(si)), num(x), num(base), num(barW), num(bh), esc(c.Labels[i]), esc(s.Name), s.Values[i])
			}
		}
		every := (n + maxXLabels - 1) / maxXLabels
		for i := 0; i < n; i += every {
			fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`,
				num(marginLeft+slot*(float64(i)+0.5)), num(marginTop+plotH+16), esc(c.Labels[i]))
		}
	}
	// The legend, under the axis.
	x := float64(marginLeft)
	y := float64(h - 14)
	for si, s := range c.Series {
		fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="10" height="10"/>`, esc(s.class(si)), num(x), num(y-9))
		fmt.Fprintf(&b, `<text class="legend" x="%s" y="%s">%s</text>`, num(x+14), num(y), esc(s.Name))
		x += 14 + 7.5*float64(len([]rune(s.Name))) + 18
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped
}

// NiceScale returns the top of a y axis that holds top, and the step of
// its gridlines: 1, 2 or 5 times a power of ten, four or five steps.
func NiceScale(top int64) (scale, step int64) {
	if top <= 0 {
		return 1, 1
	}
	raw := float64(top) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 1
	for _, m := range []float64{1, 2, 5, 10} {
		if s := int64(math.Ceil(m * mag)); float64(s) >= raw {
			step = max(s, 1)
			break
		}
	}
	scale = (top + step - 1) / step * step
	return scale, step
}

func esc(s string) string { return html.EscapeString(s) }

// num writes a coordinate with at most two decimals.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

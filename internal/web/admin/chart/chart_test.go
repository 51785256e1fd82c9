package chart_test

import (
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/web/admin/chart"
)

// parse checks that svg is well-formed XML and returns its rects (class,
// height) in order, and every text's content.
func parse(t *testing.T, svg string) (rects [][2]string, texts []string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var inText bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return rects, texts
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "rect" {
				var class, height string
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "class":
						class = a.Value
					case "height":
						height = a.Value
					case "style":
						t.Errorf("a style attribute: the CSP refuses it")
					}
				}
				rects = append(rects, [2]string{class, height})
			}
			inText = e.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
}

func TestStacked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chart chart.Stacked
		// bars are the heights of the bars' rects, legend swatches left out
		bars      []float64
		texts     []string
		notInside []string
		classes   []string // of the bars, in order
	}{
		{
			name:  "says so when there is nothing to draw",
			chart: chart.Stacked{Title: "Sign-ins", Empty: "No sign-ins", Labels: []string{"1 Dec", "2 Dec"}, Series: []chart.Series{{Name: "password", Values: []int64{0, 0}}}},
			texts: []string{"No sign-ins", "1 Dec", "password"},
		},
		{
			name:  "draws no bar without points",
			chart: chart.Stacked{Title: "Sign-ins", Empty: "No sign-ins"},
			texts: []string{"No sign-ins"},
		},
		{
			name:  "draws one point as one full-height bar",
			chart: chart.Stacked{Title: "t", Labels: []string{"09:00"}, Series: []chart.Series{{Name: "password", Values: []int64{4}}}},
			bars:  []float64{224}, // the whole plot: 4 on a scale of 4
			texts: []string{"09:00", "0", "4"},
		},
		{
			name: "stacks the series and scales to a round top",
			chart: chart.Stacked{Title: "t", Labels: []string{"a", "b"}, Series: []chart.Series{
				{Name: "passkey", Values: []int64{3, 10}}, {Name: "password", Values: []int64{7, 0}}}},
			// the top is 10, with steps of 5 (ceil(10/4)=2.5 → 5)
			bars:  []float64{67.2, 156.8, 224},
			texts: []string{"0", "5", "10"},
		},
		{
			name: "escapes every text",
			chart: chart.Stacked{Title: `<script>"x"</script>`, YLabel: "a&b", Labels: []string{"<b>"},
				Series: []chart.Series{{Name: `"><svg onload=alert(1)>`, Values: []int64{1}}}},
			bars:      []float64{224},
			texts:     []string{"<b>", `"><svg onload=alert(1)>`, "a&b"},
			notInside: []string{"<script>", "<b>", "<svg onload"},
		},
		{
			name:    "colours a series by its class",
			chart:   chart.Stacked{Title: "t", Labels: []string{"a"}, Series: []chart.Series{{Name: "x", Values: []int64{1}, Class: "m-password"}, {Name: "y", Values: []int64{1}}}},
			bars:    []float64{112, 112},
			texts:   []string{"x", "y"},
			classes: []string{"m-password", "s1"},
		},
		{
			name:  "ignores negative values and points a series lacks",
			chart: chart.Stacked{Title: "t", Labels: []string{"a", "b"}, Series: []chart.Series{{Name: "x", Values: []int64{-5}}, {Name: "y", Values: []int64{2, 2}}}},
			bars:  []float64{224, 224},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(tc.chart.SVG())
			rects, texts := parse(t, svg)
			var bars []float64
			var classes []string
			for _, r := range rects {
				if r[1] == "10" { // a legend swatch
					continue
				}
				classes = append(classes, r[0])
				h, err := strconv.ParseFloat(r[1], 64)
				if err != nil {
					t.Fatalf("rect height %q", r[1])
				}
				bars = append(bars, h)
			}
			if len(bars) != len(tc.bars) {
				t.Fatalf("bars %v, want %v\n%s", bars, tc.bars, svg)
			}
			for i := range bars {
				if bars[i] != tc.bars[i] {
					t.Errorf("bar %d: height %v, want %v", i, bars[i], tc.bars[i])
				}
			}
			if tc.classes != nil && strings.Join(classes, " ") != strings.Join(tc.classes, " ") {
				t.Errorf("bar classes %v, want %v", classes, tc.classes)
			}
			all := strings.Join(texts, "\n")
			for _, w := range tc.texts {
				if !strings.Contains(all, w) {
					t.Errorf("no text %q in %q", w, texts)
				}
			}
			for _, bad := range tc.notInside {
				if strings.Contains(svg, bad) {
					t.Errorf("unescaped %q in %s", bad, svg)
				}
			}
		})
	}
}

func TestManyLabelsAreThinnedOut(t *testing.T) {
	c := chart.Stacked{Title: "t", Series: []chart.Series{{Name: "x"}}}
	for i := range 90 {
		c.Labels = append(c.Labels, "d"+strconv.Itoa(i))
		c.Series[0].Values = append(c.Series[0].Values, int64(i))
	}
	_, texts := parse(t, string(c.SVG()))
	n := 0
	for _, tx := range texts {
		if regexp.MustCompile(`^d\d+$`).MatchString(tx) {
			n++
		}
	}
	if n == 0 || n > 8 {
		t.Errorf("%d x labels of 90 points, want 1 to 8", n)
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ top, scale, step int64 }{
		{0, 1, 1}, {1, 1, 1}, {3, 3, 1}, {4, 4, 1}, {7, 8, 2}, {10, 10, 5}, {19, 20, 5}, {99, 100, 50}, {1234, 1500, 500},
	} {
		scale, step := chart.NiceScale(tc.top)
		if scale != tc.scale || step != tc.step {
			t.Errorf("NiceScale(%d) = %d, %d; want %d, %d", tc.top, scale, step, tc.scale, tc.step)
		}
		if scale < tc.top || scale/step > 5 {
			t.Errorf("NiceScale(%d) = %d step %d: does not hold the top in at most five steps", tc.top, scale, step)
		}
	}
}

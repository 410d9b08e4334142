package report

import (
	"embed"
	"html/template"
	"io"
	"strconv"
)

//go:embed templates/weekly.html
var templates embed.FS

var weeklyHTML = template.Must(template.New("weekly.html").Funcs(template.FuncMap{
	"group":        group,
	"percent":      percent,
	"comparison":   comparison,
	"rateChange":   rateChange,
	"countChange":  countChange,
	"codeText":     codeText,
	"dayLabel":     dayLabel,
	"alertSpan":    alertSpan,
	"alertSubject": alertSubject,
	"color":        func(c string) template.CSS { return template.CSS(categoryColor(c)) },
	"trend": func(t Totals) string {
		switch d := t.ErrorRateChange; {
		case t.PreviousRequests == 0:
			return ""
		case d > 0:
			return "up"
		case d < 0:
			return "down"
		}
		return ""
	},
}).ParseFS(templates, "templates/weekly.html"))

// htmlSection is one provider's part of the HTML report.
type htmlSection struct {
	P          *ProviderWeek
	Charts     []chart
	Categories []string
}

// WriteHTML writes the report as one self-contained HTML file: inline CSS
// and SVG charts (two per provider: requests and error rate per day, errors
// per day by category), no script, nothing fetched (its Content Security
// Policy forbids it). The tables carry every number, for mail clients that
// drop SVG.
func (rep *Weekly) WriteHTML(w io.Writer) error {
	data := struct {
		R        *Weekly
		LastDay  string
		Sections []htmlSection
	}{R: rep, LastDay: rep.Days[len(rep.Days)-1]}
	for i := range rep.Providers {
		p := &rep.Providers[i]
		id := "chart-" + strconv.Itoa(i)
		data.Sections = append(data.Sections, htmlSection{
			P:          p,
			Charts:     []chart{requestsChart(id+"-requests", p), categoriesChart(id+"-categories", p)},
			Categories: categoriesByCount(p.ByCategory),
		})
	}
	return weeklyHTML.Execute(w, data)
}

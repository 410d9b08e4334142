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
	"num":          num,
	"svgPoints":    svgPoints,
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
	return rep.executeHTML(w, htmlOptions{}, rep.htmlSections())
}

// htmlOptions choose between the HTML file and a mail's HTML.
type htmlOptions struct {
	// Mail shows each chart as an <img> of its Src (the cid: URL of its
	// PNG) rather than as SVG.
	Mail bool
	// Link is the report's page in the console, linked from the top.
	Link string
}

// htmlSections lays out the charts of each provider: two per provider, with
// ids chart-N-requests and chart-N-categories.
func (rep *Weekly) htmlSections() []htmlSection {
	var sections []htmlSection
	for i := range rep.Providers {
		p := &rep.Providers[i]
		id := "chart-" + strconv.Itoa(i)
		sections = append(sections, htmlSection{
			P:          p,
			Charts:     []chart{requestsChart(id+"-requests", p), categoriesChart(id+"-categories", p)},
			Categories: categoriesByCount(p.ByCategory),
		})
	}
	return sections
}

func (rep *Weekly) executeHTML(w io.Writer, o htmlOptions, sections []htmlSection) error {
	data := struct {
		R        *Weekly
		LastDay  string
		Sections []htmlSection
		Mail     bool
		Link     string
	}{R: rep, LastDay: rep.Days[len(rep.Days)-1], Sections: sections, Mail: o.Mail, Link: o.Link}
	return weeklyHTML.Execute(w, data)
}

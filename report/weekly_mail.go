package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// Mail is the weekly report as an e-mail's content: what package deliver
// sends as one message whose text and HTML are alternatives, the HTML
// showing the charts as inline PNG parts (cid: URLs).
//
// Why PNG parts: mail clients drop SVG (Gmail, Outlook) and do not show
// data: URIs reliably, and an image fetched from a server would be
// blocked by default and would tell the server who read the report.
// Images sent as parts of the message (multipart/related, RFC 2387) are
// shown by Gmail, Outlook, Apple Mail and Thunderbird without a fetch;
// a client that hides them still has the tables, which carry every number,
// and each image's alt text says what it draws.
type Mail struct {
	Subject string
	// Text is the Markdown report (a link to the console at the end when
	// MailOptions.Link is set).
	Text string
	// HTML is the HTML report; its charts are <img src="cid:ContentID">.
	HTML string
	// Images are the charts' PNGs, in the order the HTML shows them.
	Images []MailImage
}

// MailImage is a chart of the mail's HTML.
type MailImage struct {
	// ContentID is the part's Content-ID, without angle brackets, unique
	// in the message: the HTML shows it as cid:ContentID.
	ContentID string
	Filename  string
	PNG       []byte
}

// MailOptions complete the mail.
type MailOptions struct {
	// Link is the report's page in the web console; the mail links to it
	// when set.
	Link string
}

// Mail renders the report as an e-mail: subject, Markdown text, HTML with
// PNG charts. Nothing in it refers to anything outside the message but
// MailOptions.Link.
func (rep *Weekly) Mail(o MailOptions) (*Mail, error) {
	m := &Mail{Subject: "Weekly error report " + rep.Headline()}
	var text bytes.Buffer
	if err := rep.WriteMarkdown(&text); err != nil {
		return nil, err
	}
	if o.Link != "" {
		fmt.Fprintf(&text, "\nOpen this report in the faultline console: %s\n", o.Link)
	}
	m.Text = text.String()

	sections := rep.htmlSections()
	for i := range sections {
		for j := range sections[i].Charts {
			c := &sections[i].Charts[j]
			png, err := c.PNG()
			if err != nil {
				return nil, err
			}
			img := MailImage{ContentID: c.ID + "." + rep.Week + "@faultline", Filename: c.ID + ".png", PNG: png}
			c.Src = template.URL("cid:" + img.ContentID) // our own id: letters, digits, - . @
			m.Images = append(m.Images, img)
		}
	}
	var html bytes.Buffer
	if err := rep.executeHTML(&html, htmlOptions{Mail: true, Link: o.Link}, sections); err != nil {
		return nil, err
	}
	m.HTML = html.String()
	return m, nil
}

// Headline is the week in one line, for a mail's subject and the first
// line of a chat message: "2026-W46: error rate 1.23% (+0.40 pts), 12,345
// errors in 1,000,000 requests, 2 alerts, 3 new codes".
func (rep *Weekly) Headline() string {
	var parts []string
	if rep.NoTraffic {
		parts = append(parts, rep.Week+": no traffic recorded")
	} else {
		t := rep.Totals
		rate := rep.Week + ": error rate " + percent(t.ErrorRate)
		if t.PreviousRequests > 0 {
			rate += " (" + points(t.ErrorRateChange) + ")"
		}
		parts = append(parts, rate, group(t.Errors)+" errors in "+group(t.Requests)+" requests")
	}
	if n := len(rep.Alerts); n > 0 {
		parts = append(parts, plural(n, "alert", "alerts"))
	}
	if n := rep.newCodeCount(); n > 0 {
		parts = append(parts, plural(n, "new code", "new codes"))
	}
	return strings.Join(parts, ", ")
}

// newCodeCount is how many codes were first seen in the week.
func (rep *Weekly) newCodeCount() int {
	n := 0
	for _, p := range rep.Providers {
		n += len(p.NewCodes)
	}
	return n
}

// plural is "1 alert" or "2 alerts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return group(int64(n)) + " " + many
}

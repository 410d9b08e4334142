package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ChatOptions complete the chat message.
type ChatOptions struct {
	// Link is the report's page in the web console; the message links to
	// it when set.
	Link string
}

// Bounds of a chat message. Slack refuses a section whose text is over
// 3,000 characters; Mattermost's default post limit is 16,383 characters.
// Lists longer than chatListMax are cut, saying how many were left out:
// the message is a summary, the mail and the console have everything.
const (
	chatSectionMax = 3000
	chatListMax    = 10
	chatTableMax   = 15 // providers in the table
	chatNameMax    = 24 // provider column
	chatSummaryMax = 140
)

// chatMessage is an incoming-webhook message in Slack's format. Mattermost
// and Rocket.Chat read the same JSON: they show text (Markdown) and ignore
// blocks, which Slack shows instead (using text for notifications).
type chatMessage struct {
	Text        string      `json:"text"`
	Blocks      []chatBlock `json:"blocks"`
	UnfurlLinks bool        `json:"unfurl_links"`
	UnfurlMedia bool        `json:"unfurl_media"`
}

type chatBlock struct {
	Type     string     `json:"type"` // header, section, context
	Text     *chatText  `json:"text,omitempty"`
	Elements []chatText `json:"elements,omitempty"`
}

type chatText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// WriteChat writes the report's summary as one incoming-webhook message
// (Slack's format, which Mattermost and Rocket.Chat accept): the headline,
// the table of providers, the week's alerts and new codes, and a link to
// the console's page of the week when ChatOptions.Link is set.
//
// Every text that comes from stored data (providers, codes, summaries) is
// on one line inside a code block, with ` & < > made harmless: a code like
// <!channel> or @channel cannot notify anyone, a backtick cannot end the
// block.
func (rep *Weekly) WriteChat(w io.Writer, o ChatOptions) error {
	title := "Weekly error report " + rep.Week
	period := fmt.Sprintf("%s to %s (%s), compared with %s.", rep.Days[0], rep.Days[len(rep.Days)-1], rep.Timezone, rep.PreviousWeek)
	headline := slackEscape("Weekly error report " + rep.Headline())

	var table string
	if rep.NoTraffic {
		table = slackEscape(fmt.Sprintf("No traffic was recorded in %s: no requests and no errors from any provider.", rep.Week))
	} else {
		lines := rep.chatTable()
		table = codeBlock(lines, len(lines), "rows")
	}
	sections := []string{table}
	if len(rep.Alerts) > 0 {
		var lines []string
		for _, a := range rep.Alerts {
			about := strings.Join(strings.Fields(strings.Join([]string{chatField(a.Severity, 16), chatField(a.Rule, 32),
				chatField(a.Provider, chatNameMax), chatField(alertSubject(a), 48)}, " ")), " ")
			lines = append(lines, fmt.Sprintf("%s (%s): %s", about, alertSpan(a), chatField(a.Summary, chatSummaryMax)))
		}
		sections = append(sections, fmt.Sprintf("*Alerts this week (%d)*\n%s", len(rep.Alerts), codeBlock(lines, chatListMax, "alerts")))
	} else {
		sections = append(sections, "No alerts this week.")
	}
	if n := rep.newCodeCount(); n > 0 {
		var lines []string
		for _, p := range rep.Providers {
			for _, c := range p.NewCodes {
				doc := "undocumented"
				if c.Known {
					doc = "documented"
				}
				lines = append(lines, fmt.Sprintf("%s %s (%s, %s): %s, first seen %s", chatField(p.Provider, chatNameMax),
					chatField(codeText(c.Code, c.Subcode), 64), chatField(c.Category, 32), doc,
					plural(int(c.Count), "error", "errors"), c.FirstSeen.Format("Mon 2006-01-02 15:04")))
			}
		}
		sections = append(sections, fmt.Sprintf("*New codes (%d)*\n%s", n, codeBlock(lines, chatListMax, "new codes")))
	}

	msg := chatMessage{Blocks: []chatBlock{{Type: "header", Text: &chatText{Type: "plain_text", Text: title}}}}
	msg.Blocks = append(msg.Blocks, chatBlock{Type: "section", Text: &chatText{Type: "mrkdwn", Text: headline}})
	for _, s := range sections {
		msg.Blocks = append(msg.Blocks, chatBlock{Type: "section", Text: &chatText{Type: "mrkdwn", Text: s}})
	}
	text := []string{headline}
	text = append(text, sections...)
	text = append(text, slackEscape(period))
	if o.Link != "" {
		link := slackLink(o.Link)
		msg.Blocks = append(msg.Blocks, chatBlock{Type: "section",
			Text: &chatText{Type: "mrkdwn", Text: "<" + link + "|Open this report in the faultline console>"}})
		text = append(text, "Open this report in the faultline console: "+link)
	}
	msg.Blocks = append(msg.Blocks, chatBlock{Type: "context", Elements: []chatText{{Type: "mrkdwn", Text: slackEscape(period)}}})
	msg.Text = strings.Join(text, "\n")

	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(msg)
}

// chatTable is the providers' table, aligned for a monospace code block:
// the first chatTableMax providers, then all of them.
func (rep *Weekly) chatTable() []string {
	rows := [][]string{{"provider", "requests", "errors", "error rate", "vs " + rep.PreviousWeek}}
	for _, p := range rep.Providers[:min(len(rep.Providers), chatTableMax)] {
		rows = append(rows, []string{chatField(p.Provider, chatNameMax), group(p.Requests), group(p.Errors), percent(p.ErrorRate), rateChange(p.Totals)})
	}
	if left := len(rep.Providers) - chatTableMax; left > 0 {
		rows = append(rows, []string{fmt.Sprintf("(%d more)", left), "", "", "", ""})
	}
	t := rep.Totals
	rows = append(rows, []string{"all", group(t.Requests), group(t.Errors), percent(t.ErrorRate), rateChange(t)})
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	lines := make([]string, len(rows))
	for j, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		lines[j] = b.String()
	}
	return lines
}

// codeBlock puts at most maxLines lines in a code block of at most
// chatSectionMax characters once escaped, saying how many of what were
// left out.
func codeBlock(lines []string, maxLines int, what string) string {
	const fence = "```"
	budget := chatSectionMax - 2*len(fence) - 200 // the heading before the block, the "… more" line
	var b strings.Builder
	kept := 0
	for _, l := range lines {
		l = slackEscape(l)
		if kept >= maxLines || b.Len()+len(l)+1 > budget {
			break
		}
		b.WriteString(l + "\n")
		kept++
	}
	if left := len(lines) - kept; left > 0 {
		fmt.Fprintf(&b, "… and %d more %s in the report\n", left, what)
	}
	return fence + "\n" + b.String() + fence
}

// chatField is stored text made safe for a code block of a chat message:
// one printable line of at most n runes, without backticks (they would end
// the block).
func chatField(s string, n int) string {
	return cut(strings.ReplaceAll(s, "`", "'"), n)
}

// slackEscape escapes the three characters Slack's mrkdwn gives a meaning
// (<!channel>, <@U123>, <url|text> links): & < >.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLink is a URL made safe inside <url|text>: no | < > or space.
func slackLink(u string) string {
	return strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20").Replace(u)
}

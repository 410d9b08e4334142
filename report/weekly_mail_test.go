package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
)

func TestWeeklyMail(t *testing.T) {
	rep := hostileWeek()
	rep.Alerts = []report.WeekAlert{{Rule: "new_code", Provider: "acme", Category: "validation", Code: "X", Severity: "info",
		StartsAt: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), Summary: "acme: a code never seen before"}}
	m, err := rep.Mail(report.MailOptions{Link: "https://faultline.example/weekly?week=2026-W46"})
	require.NoError(t, err)

	require.Equal(t, "Weekly error report 2026-W46: error rate 20.00%, 2 errors in 10 requests, 1 alert, 1 new code", m.Subject,
		"no change in points without traffic the week before")

	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	require.Equal(t, md.String()+"\nOpen this report in the faultline console: https://faultline.example/weekly?week=2026-W46\n", m.Text)

	// Two charts per provider, each a PNG part the HTML shows by its
	// Content-ID, and no SVG: mail clients drop it.
	require.Len(t, m.Images, 2)
	ids := map[string]bool{}
	for _, img := range m.Images {
		require.False(t, ids[img.ContentID], "Content-IDs are unique")
		ids[img.ContentID] = true
		require.Regexp(t, `^[A-Za-z0-9.-]+@faultline$`, img.ContentID)
		require.Equal(t, 1, strings.Count(m.HTML, `src="cid:`+img.ContentID+`"`))
		cfg, err := png.DecodeConfig(bytes.NewReader(img.PNG))
		require.NoError(t, err)
		require.Equal(t, 1280, cfg.Width)
		require.Equal(t, 440, cfg.Height)
	}
	require.Equal(t, len(m.Images), strings.Count(m.HTML, "<img "))
	require.Contains(t, m.HTML, `width="640" height="220" alt="acme: requests per day (bars, left axis) and error rate (line, right axis)"`)
	require.NotContains(t, m.HTML, "<svg")
	require.Contains(t, m.HTML, `<a href="https://faultline.example/weekly?week=2026-W46">`)
	for _, bad := range []string{"<script", "<img src=x", "<svg onload", "\x1b"} {
		require.NotContains(t, m.HTML, bad)
	}
	require.Contains(t, m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.Equal(t, len(m.Images), strings.Count(m.HTML, ` src="`), "only the parts of the message are shown")
	for _, fetch := range []string{"url(", "@import", "<link", "<script", "<iframe", "<object"} {
		require.NotContains(t, m.HTML, fetch, "nothing to fetch or run")
	}

	// Without a link, none; the file's HTML is unchanged: SVG, no <img>.
	m, err = rep.Mail(report.MailOptions{})
	require.NoError(t, err)
	require.NotContains(t, m.Text, "console")
	require.NotContains(t, m.HTML, "console-link")
	var file bytes.Buffer
	require.NoError(t, rep.WriteHTML(&file))
	require.NotContains(t, file.String(), "<img")
	require.NotContains(t, file.String(), "console-link")
}

func TestWeeklyHeadline(t *testing.T) {
	rep := hostileWeek()
	rep.Providers[0].PreviousRequests, rep.Providers[0].PreviousErrors, rep.Providers[0].PreviousErrorRate = 20, 2, 0.1
	rep.Totals = report.Totals{Requests: 1234567, Errors: 12345, ErrorRate: 0.01, PreviousRequests: 1000, PreviousErrors: 6, PreviousErrorRate: 0.006, ErrorRateChange: 0.004}
	rep.Providers[0].NewCodes = append(rep.Providers[0].NewCodes, rep.Providers[0].NewCodes[0])
	require.Equal(t, "2026-W46: error rate 1.00% (+0.40 pts), 12,345 errors in 1,234,567 requests, 2 new codes", rep.Headline())

	empty := &report.Weekly{Week: "2026-W40", NoTraffic: true, Alerts: make([]report.WeekAlert, 3)}
	require.Equal(t, "2026-W40: no traffic recorded, 3 alerts", empty.Headline())
}

// chatMessage is what the test reads of an incoming-webhook message.
type chatMessage struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
	UnfurlLinks *bool `json:"unfurl_links"`
	UnfurlMedia *bool `json:"unfurl_media"`
}

func readChat(t *testing.T, rep *report.Weekly, o report.ChatOptions) (chatMessage, string) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, rep.WriteChat(&buf, o))
	var m chatMessage
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m), buf.String())
	return m, buf.String()
}

func TestWeeklyChat(t *testing.T) {
	rep := hostileWeek()
	rep.Providers[0].NewCodes[0].Code = "<!channel> @here `boom`"
	rep.Alerts = []report.WeekAlert{{Rule: "new_code", Provider: "acme", Code: "<@U123>", Severity: "info",
		StartsAt: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), Summary: "acme & <b>co</b>"}}
	m, raw := readChat(t, rep, report.ChatOptions{Link: "https://faultline.example/weekly?week=2026-W46"})

	require.NotNil(t, m.UnfurlLinks)
	require.False(t, *m.UnfurlLinks, "no preview of a page that needs a login")
	var types []string
	for _, b := range m.Blocks {
		types = append(types, b.Type)
		if b.Text != nil {
			require.LessOrEqual(t, len(b.Text.Text), 3000, "Slack's limit of a section")
		}
	}
	require.Equal(t, []string{"header", "section", "section", "section", "section", "section", "context"}, types)
	require.Equal(t, "plain_text", m.Blocks[0].Text.Type)
	require.Equal(t, "Weekly error report 2026-W46", m.Blocks[0].Text.Text)
	require.Equal(t, "Weekly error report 2026-W46: error rate 20.00%, 2 errors in 10 requests, 1 alert, 1 new code", m.Blocks[1].Text.Text)
	table := m.Blocks[2].Text.Text
	require.Equal(t, "```\n"+
		"provider  requests  errors  error rate        vs 2026-W45\n"+
		"acme            10       2      20.00%  no traffic before\n"+
		"all             10       2      20.00%  no traffic before\n```", table)
	require.Contains(t, m.Blocks[3].Text.Text, "*Alerts this week (1)*\n```\ninfo new_code acme &lt;@U123&gt; (Tue 10 09:00, still firing): acme &amp; &lt;b&gt;co&lt;/b&gt;\n```")
	require.Contains(t, m.Blocks[4].Text.Text, "*New codes (1)*\n```\nacme &lt;!channel&gt; @here 'boom' (validation, undocumented): 1 error, first seen Tue 2026-11-10 00:00\n```")
	require.Equal(t, "<https://faultline.example/weekly?week=2026-W46|Open this report in the faultline console>", m.Blocks[5].Text.Text)
	require.Equal(t, "2026-11-09 to 2026-11-15 (UTC), compared with 2026-W45.", m.Blocks[6].Elements[0].Text)

	// The text, for Mattermost, Rocket.Chat and notifications: everything
	// the blocks say, the link bare.
	for _, b := range m.Blocks[1:5] {
		require.Contains(t, m.Text, b.Text.Text)
	}
	require.Contains(t, m.Text, "\nOpen this report in the faultline console: https://faultline.example/weekly?week=2026-W46")
	// No mention, no link markup, no way out of a code block, from data.
	for _, bad := range []string{"<!channel>", "<@U123>", "`boom`", "<b>"} {
		require.NotContains(t, raw, bad)
	}

	// Without a link, no link block.
	m, _ = readChat(t, rep, report.ChatOptions{})
	require.Len(t, m.Blocks, 6)
	require.NotContains(t, m.Text, "console")
}

// A week of many providers, alerts and new codes stays within Slack's
// limits, saying what it left out.
func TestWeeklyChatIsBounded(t *testing.T) {
	rep := hostileWeek()
	base := rep.Providers[0]
	rep.Providers = nil
	for i := range 40 {
		p := base
		p.Provider = fmt.Sprintf("provider-%02d-%s", i, strings.Repeat("&", 30))
		rep.Providers = append(rep.Providers, p)
		rep.Alerts = append(rep.Alerts, report.WeekAlert{Rule: "error_rate", Provider: p.Provider, Severity: "warning",
			StartsAt: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC), Summary: strings.Repeat("<>", 500)})
	}
	m, raw := readChat(t, rep, report.ChatOptions{})
	for _, b := range m.Blocks {
		if b.Text != nil {
			require.LessOrEqual(t, len(b.Text.Text), 3000, "Slack's limit of a section")
		}
	}
	require.Less(t, len(m.Text), 16383, "Mattermost's default limit of a post")
	require.Contains(t, m.Blocks[2].Text.Text, "(25 more)")
	require.Contains(t, m.Blocks[3].Text.Text, "*Alerts this week (40)*")
	require.Contains(t, m.Blocks[3].Text.Text, "more alerts in the report")
	require.Contains(t, m.Blocks[4].Text.Text, "more new codes in the report")
	t.Logf("%d bytes", len(raw))
}

func TestWeeklyChatWithoutTraffic(t *testing.T) {
	rep := &report.Weekly{Week: "2026-W40", PreviousWeek: "2026-W39", Timezone: "UTC", NoTraffic: true,
		Days: []string{"2026-09-28", "2026-10-04"}, Providers: []report.ProviderWeek{}, Alerts: []report.WeekAlert{}}
	m, _ := readChat(t, rep, report.ChatOptions{})
	require.Equal(t, "No traffic was recorded in 2026-W40: no requests and no errors from any provider.", m.Blocks[2].Text.Text)
	require.Equal(t, "No alerts this week.", m.Blocks[3].Text.Text)
	mail, err := rep.Mail(report.MailOptions{})
	require.NoError(t, err)
	require.Empty(t, mail.Images)
	require.Equal(t, "Weekly error report 2026-W40: no traffic recorded", mail.Subject)
}

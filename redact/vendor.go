package redact

import (
	"math"
	"strings"
)

// Vendor credentials recognised by their own shape, wherever they are: in
// a message, under an innocuous key, as a JSON key, in markup. The shapes
// are those the gitleaks and trufflehog rule sets publish for payment,
// cloud, source hosting and messaging services: a distinctive prefix, then
// a body of a known alphabet and length. Where a prefix is short or common
// (SK, AQE, live_) the body must also look random (Shannon entropy), and
// the token must not be glued to an identifier (req_SK…).

// vendorShape is one vendor credential: prefix, then body bytes of alphabet, min
// to max of them, ending at a byte outside the alphabet.
type vendorShape struct {
	prefix   string
	alphabet *[256]bool
	min, max int
	entropy  float64 // least Shannon entropy of the body, bits per byte; 0: none
	strict   bool    // not after '_', '-' or '.' either (the prefix is short or common)
	contains string  // the body must hold this ("_secret_" of a Stripe client secret)
	keepHost bool    // a webhook URL: the prefix (host and path) stays, the rest goes
	// tail: after a body holding "=-", a last segment of any printable
	// bytes (an Adyen key ends with one) goes too, up to a blank or quote.
	tail bool
}

func alphabet(extra string, classes ...func(byte) bool) *[256]bool {
	var t [256]bool
	for c := 0; c < 256; c++ {
		for _, f := range classes {
			if f(byte(c)) {
				t[c] = true
			}
		}
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return &t
}

func isHexByte(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

var (
	alnumSet    = alphabet("", isAlnum)
	wordSet     = alphabet("_", isAlnum)
	wordDashSet = alphabet("_-", isAlnum)
	dottedSet   = alphabet("_-.", isAlnum)
	b64Set      = alphabet("+/=", isAlnum)
	b64DashSet  = alphabet("+/=-_", isAlnum)
	hexSet      = alphabet("", isHexByte)
	upperDigit  = alphabet("", isUpper, isDigit)
	slackSet    = alphabet("-.", isAlnum)
	dollarSet   = alphabet("$", isAlnum)
	pathSet     = alphabet("/_-", isAlnum)
)

// shapes lists the vendor credentials. Sources: gitleaks config/gitleaks.toml
// (stripe-access-token, aws-access-token, gcp-api-key, github-*, gitlab-*,
// slack-*, sendgrid-api-token, square-access-token, shopify-*, twilio-api-key,
// …) and trufflehog's detectors (stripe, stripepaymentintent, squareapp,
// adyen, braintree, razorpay, checkout, paystack, mollie, gocardless, aws).
var shapes = []vendorShape{
	// Payment.
	{prefix: "sk_live_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "sk_test_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "sk_prod_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "rk_live_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "rk_test_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "rk_prod_", alphabet: alnumSet, min: 10, max: 247},
	{prefix: "sk_", alphabet: wordDashSet, min: 24, max: 96, entropy: 3}, // Checkout.com sk_<uuid>, sk_sbox_…
	{prefix: "whsec_", alphabet: b64Set, min: 20, max: 128},
	{prefix: "pi_", alphabet: wordSet, min: 30, max: 128, contains: "_secret_"},   // PaymentIntent client secret
	{prefix: "seti_", alphabet: wordSet, min: 30, max: 128, contains: "_secret_"}, // SetupIntent client secret
	{prefix: "rzp_live_", alphabet: alnumSet, min: 14, max: 40},
	{prefix: "rzp_test_", alphabet: alnumSet, min: 14, max: 40},
	{prefix: "sq0atp-", alphabet: wordDashSet, min: 22, max: 60},
	{prefix: "sq0csp-", alphabet: wordDashSet, min: 40, max: 60},
	{prefix: "EAAA", alphabet: b64DashSet, min: 22, max: 100, strict: true},
	{prefix: "AQE", alphabet: b64DashSet, min: 40, max: 300, entropy: 4, strict: true, tail: true}, // Adyen API key
	{prefix: "access_token$production$", alphabet: dollarSet, min: 20, max: 128},                   // Braintree, PayPal
	{prefix: "access_token$sandbox$", alphabet: dollarSet, min: 20, max: 128},
	{prefix: "access-production-", alphabet: wordDashSet, min: 30, max: 64}, // Plaid
	{prefix: "access-development-", alphabet: wordDashSet, min: 30, max: 64},
	{prefix: "FLWSECK-", alphabet: wordDashSet, min: 12, max: 64}, // Flutterwave
	{prefix: "FLWSECK_TEST-", alphabet: wordDashSet, min: 12, max: 64},
	{prefix: "shpat_", alphabet: hexSet, min: 32, max: 32}, // Shopify
	{prefix: "shpca_", alphabet: hexSet, min: 32, max: 32},
	{prefix: "shppa_", alphabet: hexSet, min: 32, max: 32},
	{prefix: "shpss_", alphabet: hexSet, min: 32, max: 32},
	{prefix: "live_", alphabet: wordDashSet, min: 30, max: 64, entropy: 3.5, strict: true}, // Mollie, GoCardless
	{prefix: "klarna_live_", alphabet: wordDashSet, min: 20, max: 128},
	{prefix: "EZAK", alphabet: alnumSet, min: 54, max: 54}, // EasyPost

	// Cloud.
	{prefix: "AKIA", alphabet: upperDigit, min: 16, max: 16},
	{prefix: "ASIA", alphabet: upperDigit, min: 16, max: 16},
	{prefix: "ABIA", alphabet: upperDigit, min: 16, max: 16},
	{prefix: "ACCA", alphabet: upperDigit, min: 16, max: 16},
	{prefix: "A3T", alphabet: upperDigit, min: 17, max: 17},
	{prefix: "AIza", alphabet: wordDashSet, min: 35, max: 35},    // Google API key
	{prefix: "ya29.", alphabet: dottedSet, min: 20, max: 2048},   // Google OAuth access token
	{prefix: "GOCSPX-", alphabet: wordDashSet, min: 28, max: 28}, // Google OAuth client secret
	{prefix: "LTAI", alphabet: alnumSet, min: 12, max: 30},       // Alibaba Cloud
	{prefix: "doo_v1_", alphabet: hexSet, min: 64, max: 64},      // DigitalOcean
	{prefix: "dop_v1_", alphabet: hexSet, min: 64, max: 64},
	{prefix: "dor_v1_", alphabet: hexSet, min: 64, max: 64},
	{prefix: "HRKU-AA", alphabet: wordDashSet, min: 58, max: 58}, // Heroku
	{prefix: "hvs.", alphabet: wordDashSet, min: 90, max: 300},   // HashiCorp Vault
	{prefix: "hvb.", alphabet: wordDashSet, min: 138, max: 300},
	{prefix: "sk-ant-", alphabet: wordDashSet, min: 32, max: 300},  // Anthropic
	{prefix: "sk-proj-", alphabet: wordDashSet, min: 32, max: 300}, // OpenAI
	{prefix: "sk-svcacct-", alphabet: wordDashSet, min: 32, max: 300},
	{prefix: "sk-admin-", alphabet: wordDashSet, min: 32, max: 300},
	{prefix: "sk-", alphabet: alnumSet, min: 40, max: 64, entropy: 4, strict: true},

	// Source hosting and package registries.
	{prefix: "ghp_", alphabet: alnumSet, min: 36, max: 255}, // GitHub
	{prefix: "gho_", alphabet: alnumSet, min: 36, max: 255},
	{prefix: "ghu_", alphabet: alnumSet, min: 36, max: 255},
	{prefix: "ghs_", alphabet: alnumSet, min: 36, max: 255},
	{prefix: "ghr_", alphabet: alnumSet, min: 36, max: 255},
	{prefix: "github_pat_", alphabet: wordSet, min: 22, max: 255},
	{prefix: "glpat-", alphabet: dottedSet, min: 20, max: 300}, // GitLab
	{prefix: "gldt-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glrt-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glptt-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glsoat-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glcbt-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glft-", alphabet: dottedSet, min: 20, max: 300},
	{prefix: "glimt-", alphabet: dottedSet, min: 25, max: 300},
	{prefix: "glagent-", alphabet: dottedSet, min: 50, max: 300},
	{prefix: "gloas-", alphabet: dottedSet, min: 64, max: 300},
	{prefix: "GR1348941", alphabet: wordDashSet, min: 20, max: 64},
	{prefix: "ATATT3", alphabet: b64DashSet, min: 150, max: 300},                       // Atlassian
	{prefix: "ATBB", alphabet: alnumSet, min: 28, max: 40, entropy: 3.5, strict: true}, // Bitbucket app password
	{prefix: "npm_", alphabet: alnumSet, min: 36, max: 36},
	{prefix: "pypi-AgEIcHlwaS5vcmc", alphabet: wordDashSet, min: 50, max: 1000},
	{prefix: "rubygems_", alphabet: hexSet, min: 48, max: 48},

	// Messaging.
	{prefix: "xoxb-", alphabet: slackSet, min: 10, max: 255}, // Slack
	{prefix: "xoxp-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxa-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxr-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxe-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxe.", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxs-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xoxo-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "xapp-", alphabet: slackSet, min: 10, max: 255},
	{prefix: "hooks.slack.com/services/", alphabet: pathSet, min: 20, max: 200, keepHost: true},
	{prefix: "hooks.slack.com/workflows/", alphabet: pathSet, min: 20, max: 200, keepHost: true},
	{prefix: "hooks.slack.com/triggers/", alphabet: pathSet, min: 20, max: 200, keepHost: true},
	{prefix: "discord.com/api/webhooks/", alphabet: pathSet, min: 20, max: 200, keepHost: true},
	{prefix: "discordapp.com/api/webhooks/", alphabet: pathSet, min: 20, max: 200, keepHost: true},
	{prefix: "SG.", alphabet: dottedSet, min: 60, max: 80, contains: "."},              // SendGrid
	{prefix: "SK", alphabet: hexSet, min: 32, max: 32, strict: true},                   // Twilio API key
	{prefix: "key-", alphabet: alnumSet, min: 32, max: 32, entropy: 3.5, strict: true}, // Mailgun
	{prefix: "xkeysib-", alphabet: wordDashSet, min: 64, max: 100},                     // Brevo
}

// shapeIndex maps the first two bytes of a prefix (7-bit) to the shapes
// that start so (in shapes' order: a specific prefix before a generic
// one), through shapeGroups.
var shapeIndex, shapeGroups = func() (t [128][128]uint8, groups [][]*vendorShape) {
	groups = [][]*vendorShape{nil}
	for i := range shapes {
		p := shapes[i].prefix
		g := t[p[0]][p[1]]
		if g == 0 {
			g = uint8(len(groups))
			groups = append(groups, nil)
			t[p[0]][p[1]] = g
		}
		groups[g] = append(groups[g], &shapes[i])
	}
	return t, groups
}()

// shapeGroup returns the shapes whose prefix starts with c, d.
func shapeGroup(c, d byte) []*vendorShape {
	if c >= 0x80 || d >= 0x80 {
		return nil
	}
	return shapeGroups[shapeIndex[c][d]]
}

// matchShape returns the end of the vendor credential at s[i] (i at a
// word start), and where its redaction starts, or -1.
func matchShape(s string, i int) (start, end int) {
	if i+2 >= len(s) {
		return -1, -1
	}
	for _, sh := range shapeGroup(s[i], s[i+1]) {
		if len(s)-i < len(sh.prefix)+sh.min || s[i:i+len(sh.prefix)] != sh.prefix {
			continue
		}
		if sh.strict && i > 0 && (s[i-1] == '_' || s[i-1] == '-' || s[i-1] == '.') {
			continue
		}
		b := i + len(sh.prefix)
		e, limit := b, b+sh.max+1
		if sh.min < sh.max {
			limit = len(s) // a longer run goes whole: see below
		}
		for e < len(s) && e < limit && sh.alphabet[s[e]] {
			e++
		}
		body := s[b:e]
		switch {
		case len(body) < sh.min:
			continue
		case len(body) > sh.max && sh.min == sh.max:
			continue // not this credential: its length is exact
		case len(body) > sh.max:
			// Longer than any such credential: one glued to more, or
			// garbage after a credential's prefix. It goes whole, which
			// also keeps the scan linear: a run is read once.
			if sh.keepHost {
				return b, e
			}
			return i, e
		}
		if sh.contains != "" && !strings.Contains(body, sh.contains) {
			continue
		}
		if sh.entropy > 0 && entropy(body) < sh.entropy {
			continue
		}
		if sh.keepHost {
			return b, e
		}
		if sh.tail && strings.Contains(body, "=-") {
			t := e
			for e < len(s) && e-t < maxTail && s[e] > ' ' && s[e] < 0x7f && s[e] != '"' && s[e] != '\'' && s[e] != '\\' {
				e++
			}
		}
		return i, e
	}
	return -1, -1
}

// maxTail bounds the last segment of an Adyen key.
const maxTail = 32

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// AWS secret access keys are 40 bytes of base64 without a prefix: only
// their length and randomness tell them. trufflehog asks for Shannon
// entropy 4.25 (random base64 has about 5; a hex hash of the same length at
// most 4, English words less); we also ask for upper- and lower-case
// letters and a digit, which camel-case words lack.
const (
	awsSecretLen     = 40
	awsSecretEntropy = 4.25
)

var awsSet = alphabet("+/", isAlnum)

// mayBeAWSSecret is the constant-time test at a word start i: a run of
// exactly 40 base64 bytes can start at i (or at the '+' or '/' before it):
// it ends there, and bytes sampled every 8 are in it (a sentence's words
// are shorter).
func mayBeAWSSecret(s string, i int) bool {
	for _, st := range [2]int{i, i - 1} {
		end := st + awsSecretLen
		if st >= 0 && end <= len(s) && awsSet[s[end-1]] && (end == len(s) || !awsSet[s[end]]) &&
			awsSet[s[st+8]] && awsSet[s[st+16]] && awsSet[s[st+24]] && awsSet[s[st+32]] {
			return true
		}
	}
	return false
}

// matchAWSSecret returns the span of a 40-byte AWS secret access key that
// starts at i or at the '+' or '/' just before it (never before last).
func matchAWSSecret(s string, i, last int) (int, int) {
	st := i
	if st > last && (s[st-1] == '+' || s[st-1] == '/') {
		st--
	}
	if st > 0 && awsSet[s[st-1]] {
		return -1, -1
	}
	e := st
	for e < len(s) && e-st <= awsSecretLen && awsSet[s[e]] {
		e++
	}
	if e-st != awsSecretLen {
		return -1, -1
	}
	run := s[st:e]
	var upper, lower, digit bool
	for j := 0; j < len(run); j++ {
		c := run[j]
		upper = upper || isUpper(c)
		lower = lower || isLower(c)
		digit = digit || isDigit(c)
	}
	if !upper || !lower || !digit || entropy(run) < awsSecretEntropy {
		return -1, -1
	}
	return st, e
}

// matchMailchimp: 32 hex digits, "-us" and a data-centre number.
func matchMailchimp(s string, i int) (int, int) {
	if i+35 > len(s) || s[i+32] != '-' || s[i+33] != 'u' || s[i+34] != 's' {
		return -1, -1
	}
	for j := i; j < i+32; j++ {
		if !isHexByte(s[j]) {
			return -1, -1
		}
	}
	e := i + 35
	for e < len(s) && e-i < 37 && isDigit(s[e]) {
		e++
	}
	if e == i+35 || (e < len(s) && isAlnum(s[e])) {
		return -1, -1
	}
	return i, e
}

// azureSet is the alphabet of an Azure AD client secret.
var azureSet = alphabet("_~.-", isAlnum)

// matchAzureSecret is called at '~': an Azure AD client secret reads
// "abc8Q~" and 31 to 34 more bytes (gitleaks azure-ad-client-secret).
func matchAzureSecret(s string, i, last int) (int, int) {
	st := i - 5
	if st < last || s[i-1] != 'Q' || !isDigit(s[i-2]) {
		return -1, -1
	}
	for j := st; j < i-2; j++ {
		if !azureSet[s[j]] || s[j] == '-' {
			return -1, -1
		}
	}
	if st > 0 && azureSet[s[st-1]] {
		return -1, -1
	}
	e := i + 1
	for e < len(s) && e-i <= 35 && azureSet[s[e]] {
		e++
	}
	if n := e - i - 1; n < 31 || n > 34 {
		return -1, -1
	}
	return st, e
}

// matchTelegram is called at ':' after digits: a Telegram bot token is the
// bot's number, ':' and 35 bytes starting with "AA".
func matchTelegram(s string, i, last int) (int, int) {
	st := i
	for st > last && i-st <= 10 && isDigit(s[st-1]) {
		st--
	}
	if d := i - st; d < 8 || d > 10 || (st > 0 && isAlnum(s[st-1])) {
		return -1, -1
	}
	if i+3 > len(s) || s[i+1] != 'A' || s[i+2] != 'A' {
		return -1, -1
	}
	e := i + 1
	for e < len(s) && e-i <= 36 && wordDashSet[s[e]] {
		e++
	}
	if e-i-1 != 35 {
		return -1, -1
	}
	return st, e
}

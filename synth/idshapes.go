package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// IDShapes generates integration log records whose URL paths carry the
// identifier shapes real APIs use, in volume, beside words: prefixed
// lower-case ids with and without digits (inv_ahxdybwyej), short
// lower-case ids with one digit (bdhuc8uffl), base62 ids, hashids,
// nanoids, KSUIDs, ULIDs, ObjectIds, UUIDs, numbers and slugs with
// numbers; and /oauth2/token, /v1/3ds/sessions, /v1/payment_methods,
// /pos/v1/locations, versions and the few values of enumerated positions
// (status, capture, preview, finalize). Each record comes with the true
// endpoint of its call, so that tests can check what is stored against it.
//
// Some endpoints are declared in the providers' catalogs; the others (and
// every endpoint of acmepay, a provider without a catalog, to be configured
// with the host rule IDShapesHost) are only learnable. Every endpoint with
// an id takes about one call in len(IDShapesEndpoints()), each with a new
// id: 20,000 records give each id position more than 600 distinct values.
type IDShapes struct {
	g *Generator
}

// IDShapesHost is the host rule (host=provider, as --host takes it) under
// which acmepay's records are recognised.
const IDShapesHost = "api.acmepay.example=acmepay"

// IDShapesHosts is IDShapesHost as classify.Options.Hosts takes it.
func IDShapesHosts() map[string]string {
	host, provider, _ := strings.Cut(IDShapesHost, "=")
	return map[string]string{host: provider}
}

// NewIDShapes returns a generator; o as for New.
func NewIDShapes(o Options) *IDShapes { return &IDShapes{g: New(o)} }

// Call is one generated record and the true endpoint of its call.
type Call struct {
	Record                     []byte
	Provider, Method, Endpoint string
}

// TrueEndpoint is an endpoint of IDShapes' traffic as the classifier
// writes endpoints: ids replaced by {id}.
type TrueEndpoint struct {
	Provider, Method, Endpoint string
	// Declared reports whether the provider's catalog declares it.
	Declared bool
}

// idEndpoint is one endpoint of the traffic: path pieces alternate between
// literal text and id shapes.
type idEndpoint struct {
	provider, host, method string
	declared               bool
	// path is the path with %-less placeholders: {shape} segments are
	// generated; a {a|b|c} segment takes one of its words.
	path string
}

var idEndpoints = []idEndpoint{
	{"finterra", "api.myfinterra.com", "POST", true, "/pos/v1/orders/{inv}/payments"},
	{"finterra", "api.myfinterra.com", "GET", true, "/pos/v1/orders/{ulid}"},
	{"finterra", "api.myfinterra.com", "POST", true, "/pos/v1/payments/{ksuid}/refunds"},
	{"finterra", "api.myfinterra.com", "GET", true, "/pos/v1/locations"},
	{"finterra", "api.myfinterra.com", "POST", true, "/oauth2/token"},
	{"finterra", "api.myfinterra.com", "GET", true, "/pos/v1/locations/{short}"},
	{"cheers", "api.cheers.com", "POST", true, "/loyalty/v2/transactions/{short}/preview"},
	{"cheers", "api.cheers.com", "POST", true, "/loyalty/v2/transactions/{short}/finalize"},
	{"cheers", "api.cheers.com", "POST", false, "/loyalty/v2/vouchers/{hashid}/{status|capture|preview|finalize}"},
	{"flexiti", "api.flexiti.com", "POST", true, "/flexiti/pos-api/v2.5/client-id/{tenant}/customers/{numeric}/verify"},
	{"flexiti", "api.flexiti.com", "POST", true, "/flexiti/pos-api/v2.5/client-id/{tenant}/authorization/{hashid}/capture"},
	{"flexiti", "api.flexiti.com", "GET", true, "/flexiti/pos-api/v2.5/client-id/{tenant}/customers/lookup"},
	{"finix", "finix.live-payments-api.com", "GET", true, "/authorizations/{au}"},
	{"finix", "finix.live-payments-api.com", "POST", true, "/transfers"},
	{"finix", "finix.live-payments-api.com", "GET", false, "/devices/{objectid}/connection"},
	{"finix", "finix.live-payments-api.com", "GET", false, "/compliance_forms/{nanoid}"},
	{"paylera", "api.paylera.com", "POST", true, "/v1/invoices/{inv}/pay"},
	{"paylera", "api.paylera.com", "GET", true, "/v1/payment_methods"},
	{"paylera", "api.paylera.com", "POST", true, "/v1/3ds/sessions"},
	{"paylera", "api.paylera.com", "GET", true, "/v1/payment_methods/{base62}"},
	{"paylera", "api.paylera.com", "GET", false, "/v1/customers/{cus}/payment_methods"},
	{"paylera", "api.paylera.com", "GET", false, "/v1/products/{slug}"},
	{"paylera", "api.paylera.com", "GET", true, "/v1/wallets/{uuid}"},
	{"acmepay", "api.acmepay.example", "GET", false, "/v2/carts/{ksuid}/items"},
	{"acmepay", "api.acmepay.example", "POST", false, "/v2/carts/{ksuid}/checkout"},
	{"acmepay", "api.acmepay.example", "GET", false, "/v2/orders/{numeric}"},
	{"acmepay", "api.acmepay.example", "GET", false, "/v2/{status|health}"},
	{"acmepay", "api.acmepay.example", "GET", false, "/v2/stores/{slug}/orders/{base62}"},
}

// IDShapesEndpoints lists the true endpoints of IDShapes' traffic.
func IDShapesEndpoints() []TrueEndpoint {
	var out []TrueEndpoint
	for _, e := range idEndpoints {
		for _, p := range e.templates() {
			out = append(out, TrueEndpoint{Provider: e.provider, Method: e.method, Endpoint: p, Declared: e.declared})
		}
	}
	return out
}

// templates returns the endpoint's templates: one per word of an
// enumerated position.
func (e idEndpoint) templates() []string {
	out := []string{""}
	for _, seg := range strings.Split(e.path, "/")[1:] {
		var next []string
		for _, prefix := range out {
			switch {
			case strings.HasPrefix(seg, "{") && strings.Contains(seg, "|"):
				for _, w := range strings.Split(strings.Trim(seg, "{}"), "|") {
					next = append(next, prefix+"/"+w)
				}
			case strings.HasPrefix(seg, "{"):
				next = append(next, prefix+"/{id}")
			default:
				next = append(next, prefix+"/"+seg)
			}
		}
		out = next
	}
	return out
}

// Next returns the next record and its true endpoint.
func (s *IDShapes) Next() Call {
	g := s.g
	ts := g.ts
	g.ts = g.ts.Add(g.step)
	e := idEndpoints[g.rng.IntN(len(idEndpoints))]
	var path, tmpl strings.Builder
	for _, seg := range strings.Split(e.path, "/")[1:] {
		path.WriteByte('/')
		tmpl.WriteByte('/')
		switch {
		case strings.HasPrefix(seg, "{") && strings.Contains(seg, "|"):
			words := strings.Split(strings.Trim(seg, "{}"), "|")
			w := words[g.rng.IntN(len(words))]
			path.WriteString(w)
			tmpl.WriteString(w)
		case strings.HasPrefix(seg, "{"):
			path.WriteString(idOfShape(g.rng, strings.Trim(seg, "{}")))
			tmpl.WriteString("{id}")
		default:
			path.WriteString(seg)
			tmpl.WriteString(seg)
		}
	}
	status, body, headers, transport := 200, "", "", ""
	if g.rng.Float64() < g.errorRate {
		status, body, headers, transport = g.failure(e.provider)
	}
	b := []byte(`{"ts":"`)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","service":"checkout","provider":"`...)
	b = append(b, e.provider...)
	b = append(b, `","method":"`...)
	b = append(b, e.method...)
	b = append(b, `","url":"https://`...)
	b = append(b, e.host...)
	b = append(b, path.String()...)
	b = append(b, '"')
	if status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
	}
	if transport != "" {
		b = append(b, `,"error":`...)
		b = strconv.AppendQuote(b, transport)
	}
	b = append(b, `,"response_headers":{"content-type":"application/json"`...)
	b = append(b, headers...)
	b = append(b, '}')
	if body != "" {
		b = append(b, `,"response_body":`...)
		b = appendJSONString(b, body)
	}
	b = append(b, '}')
	return Call{Record: b, Provider: e.provider, Method: e.method, Endpoint: tmpl.String()}
}

const (
	lower36   = "abcdefghijklmnopqrstuvwxyz0123456789"
	base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	nanoAlpha = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

var slugWords = []string{"summer", "holiday", "blue", "premium", "gift", "card", "winter", "kitchen", "red", "outdoor", "pro", "wireless", "mini", "vintage", "table", "lamp"}

// idOfShape returns a new identifier of the named shape.
func idOfShape(rng *rand.Rand, shape string) string {
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	switch shape {
	case "inv": // a prefixed random lower-case id: about 4% have no digit
		return "inv_" + pick(lower36, 10)
	case "cus":
		return "cus_" + pick(lower36, 12)
	case "short": // ten lower-case letters, one of them a digit
		b := []byte(pick(lower36[:26], 10))
		b[rng.IntN(len(b))] = '0' + byte(rng.IntN(10))
		return string(b)
	case "base62": // about 8% of 14 characters have no digit
		return pick(base62, 14)
	case "hashid":
		return pick(base62, 6+rng.IntN(5))
	case "nanoid":
		return pick(nanoAlpha, 21)
	case "ksuid":
		return pick(base62, 27)
	case "ulid":
		return pick(crockford, 26)
	case "objectid":
		return pick(lower36[26:]+"abcdef", 24)
	case "uuid":
		h := pick(lower36[26:]+"abcdef", 32)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	case "numeric":
		return strconv.Itoa(1 + rng.IntN(99999999))
	case "slug":
		return slugWords[rng.IntN(len(slugWords))] + "-" + slugWords[rng.IntN(len(slugWords))] + "-" + strconv.Itoa(rng.IntN(3000))
	case "au":
		return "AU" + pick(base62, 22)
	case "tenant":
		return "flexitidemo"
	}
	panic("synth: unknown id shape " + shape)
}

package redact

import (
	"strings"

	"github.com/faultline-dev/faultline/internal/jsonstr"
)

// Document removes secrets from text that may hold structure: JSON
// (objects, arrays, or top-level scalars), JSON that does not parse
// (truncated, with raw control characters, trailing commas, "1." numbers, a
// byte-order mark), JSON encoded again inside a JSON string, JSON inside
// HTML or a log line, and key=value or header text. It finds keys with a
// tolerant tokenizer, so key-aware redaction works on all of them:
//
//   - a value under a sensitive key (SensitiveKey) is replaced whole,
//     whatever it is (a string, a number, an object, an array), except
//     null, true, false and "": they hold no secret and tell what was sent;
//   - under a field_errors key (Flexiti echoes the submitted values there,
//     PIWs and SINs included) every value is replaced except those that
//     describe the error (param, field, msg, code…), whether field_errors
//     is an array of objects, an object map or an array of [param, value]
//     arrays;
//   - in a {name, value} pair (HAR headers: {"name": "X-Auth-Token",
//     "value": …}) and a [name, value] array, the value is replaced when
//     the name is sensitive;
//   - every other string, keys included, goes through Text, and a string
//     that holds JSON is redacted as a document of its own.
//
// Everything else is kept byte for byte, so valid JSON stays valid JSON. It
// returns s itself when nothing was removed.
func Document(s string) string {
	c, cleaned := clean(s)
	out, changed := document(c, 0)
	if changed {
		out = untilFixed(out, func(_ []byte, s string) ([]byte, bool) { return document(s, 0) })
	}
	switch {
	case changed:
		return string(out)
	case cleaned:
		return string([]byte(c))
	}
	return s
}

// maxLevels bounds how many times a string holding JSON is opened.
const maxLevels = 4

// document redacts s (clean text) at nesting level (of JSON in strings).
// One pass does, unless an object names its pair only after the value (a
// HAR header {"value": …, "name": "Cookie"}): then a survey walks the
// document first, to know each object's name before its value.
func document(s string, level int) ([]byte, bool) {
	w := docWalker{s: s, level: level}
	w.out = make([]byte, 0, len(s)+16)
	w.walk()
	if w.resurvey {
		w = docWalker{s: s, level: level, survey: true}
		w.walk()
		w.survey, w.objects = false, 0
		w.stack = w.stack[:0]
		w.out = make([]byte, 0, len(s)+16)
		w.walk()
	}
	return w.out, w.changed
}

// docWalker tokenizes a document once (or twice: a survey first, when
// {name, value} pairs may need it).
type docWalker struct {
	s       string
	out     []byte
	changed bool
	level   int

	survey   bool
	marked   []bool // by object ordinal: the object's name is sensitive: redact its value
	banks    []bool // by object ordinal: the object holds a bank number: its account number is one
	objects  int    // '{' tokens seen: object ordinals
	resurvey bool   // an object named its pair after the value: walk again, with a survey

	stack   []frame
	pending rule // how the next value is treated, set by a key
	has     bool // pending is set
}

// frame is one open object or array.
type frame struct {
	array       bool
	fieldErrors bool // inside field_errors
	pairs       bool // an array inside field_errors' array: [param, value, …]
	marked      bool // object whose name member is sensitive
	sawValue    bool // object: a value-like member came already
	bank        bool // object with a routing, transit, institution number or IBAN
	sawAccount  bool // object: an account number came already, kept
	namedKey    bool // array whose first element is a sensitive name
	ordinal     int
	elems       int // array: elements before the current one
}

// rule says how a value is treated.
type rule struct {
	scalar      action
	structure   action
	fieldErrors bool // a structure descended into is in field_errors
	naming      bool // survey: the value names its pair
	authz       bool // under an "authorization" key: a provider id stays
	longDigits  bool // under a "number" key: a value of 12 digits or more is a card
}

type action uint8

const (
	keep   action = iota // strings through Text, structures descended into
	redact               // replaced whole
)

func (w *docWalker) emit(s string) {
	if !w.survey {
		w.out = append(w.out, s...)
	}
}

func (w *docWalker) replace(with string) {
	if !w.survey {
		w.out = append(w.out, with...)
		w.changed = true
	}
}

func (w *docWalker) top() *frame {
	if len(w.stack) == 0 {
		return nil
	}
	return &w.stack[len(w.stack)-1]
}

// walk tokenizes the whole document.
func (w *docWalker) walk() {
	s := w.s
	n := len(s)
	for p := 0; p < n; {
		c := s[p]
		f := w.top()
		switch {
		case c == '"':
			p = w.str(p)
		case c == '{' || c == '[' && !(f == nil && formBracket(s, p)):
			p = w.open(p)
		case f != nil && (c == '}' || c == ']'):
			w.stack = w.stack[:len(w.stack)-1]
			w.has = false
			w.emit(s[p : p+1])
			p++
		case f != nil && c == ',':
			if f.array {
				f.elems++
			}
			w.has = false
			w.emit(",")
			p++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			q := p + 1
			for q < n && (s[q] == ' ' || s[q] == '\t' || s[q] == '\n' || s[q] == '\r') {
				q++
			}
			w.emit(s[p:q])
			p = q
		case f != nil || w.has:
			p = w.scalar(p)
		default:
			p = w.text(p)
		}
	}
}

// valueRule is the rule for the value starting now.
func (w *docWalker) valueRule() rule {
	if w.has {
		return w.pending
	}
	f := w.top()
	if f == nil || !f.array {
		return rule{}
	}
	switch {
	case f.namedKey && f.elems >= 1:
		return rule{scalar: redact, structure: redact}
	case f.pairs && f.elems >= 1:
		return rule{scalar: redact, fieldErrors: true}
	}
	return rule{fieldErrors: f.fieldErrors}
}

// open handles '{' or '[' at p.
func (w *docWalker) open(p int) int {
	r := w.valueRule()
	w.has = false
	parent := w.top()
	if r.structure == redact {
		if strings.HasPrefix(w.s[p:], Redacted) { // redacted already
			w.emit(Redacted)
			return p + len(Redacted)
		}
		end := w.skipStructure(p)
		w.replace(`"` + Redacted + `"`)
		return end
	}
	f := frame{array: w.s[p] == '[', fieldErrors: r.fieldErrors}
	if !f.array {
		f.ordinal = w.newObject()
		if !w.survey && f.ordinal < len(w.marked) {
			f.marked, f.bank = w.marked[f.ordinal], w.banks[f.ordinal]
		}
	}
	if f.array && parent != nil && parent.array && parent.fieldErrors {
		f.pairs = true
	}
	w.stack = append(w.stack, f)
	w.emit(w.s[p : p+1])
	return p + 1
}

// newObject returns the ordinal of an object starting now.
func (w *docWalker) newObject() int {
	if w.survey {
		w.marked, w.banks = append(w.marked, false), append(w.banks, false)
	}
	w.objects++
	return w.objects - 1
}

// skipStructure returns the index past the structure at p, counting the
// objects it holds so that ordinals agree with the survey, which walks
// into it.
func (w *docWalker) skipStructure(p int) int {
	s := w.s
	depth := 0
	for k := p; k < len(s); k++ {
		switch s[k] {
		case '"':
			end, closed, _ := scanString(s, k)
			if !closed {
				return len(s)
			}
			k = end
		case '{', '[':
			if s[k] == '{' {
				w.newObject()
			}
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return k + 1
			}
		}
	}
	return len(s)
}

// scanString returns the index of the closing quote of the string whose
// opening quote is at p (len(s) when it is not closed), whether it is
// closed and whether it holds escapes.
func scanString(s string, p int) (end int, closed, esc bool) {
	for k := p + 1; k < len(s); k++ {
		switch s[k] {
		case '"':
			return k, true, esc
		case '\\':
			esc = true
			k++
		}
	}
	return len(s), false, esc
}

// str handles the string token at p: a key when a ':' follows it, else a
// value.
func (w *docWalker) str(p int) int {
	s := w.s
	end, closed, esc := scanString(s, p)
	next := end
	if closed {
		next++
	}
	content, dropped := decodeString(s[p+1:end], esc)
	q := next
	for q < len(s) && (s[q] == ' ' || s[q] == '\t' || s[q] == '\n' || s[q] == '\r') {
		q++
	}
	if closed && q < len(s) && s[q] == ':' {
		w.key(s[p:next], content, dropped, closed)
		w.emit(s[next : q+1])
		return q + 1
	}
	if closed && q+1 < len(s) && s[q] == '=' && s[q+1] == '>' { // a Ruby hash: "password" => "…"
		w.key(s[p:next], content, dropped, closed)
		w.emit(s[next : q+2])
		return q + 2
	}
	r := w.valueRule()
	w.has = false
	f := w.top()
	if f != nil && f.array && f.elems == 0 && looksLikeName(content) && SensitiveKey(content) {
		f.namedKey = true
	}
	if r.naming && f != nil && !f.array && !f.marked && SensitiveKey(content) {
		f.marked = true
		switch {
		case w.survey:
			w.marked[f.ordinal] = true
		case f.sawValue:
			w.resurvey = true // the value came first, and went out as it was
		}
	}
	switch {
	case w.survey:
	case (r.scalar == redact || r.longDigits) && content == Redacted && !dropped:
		w.emit(s[p:next]) // redacted already
	case r.scalar == redact && content != "" && !(r.authz && providerID(content)),
		r.longDigits && countDigits(content) >= 12:
		w.replace(`"` + Redacted + `"`)
	default:
		w.stringValue(s[p:next], content, dropped, closed)
	}
	return next
}

// key handles a key token (tok, holding content) and sets the rule of its
// value.
func (w *docWalker) key(tok, content string, dropped, closed bool) {
	k := roleOf(content)
	f := w.top()
	if f != nil && !f.array && !f.bank && k.bank {
		f.bank = true
		switch {
		case w.survey:
			w.banks[f.ordinal] = true
		case f.sawAccount:
			w.resurvey = true // the account number came first, and went out as it was
		}
	}
	if f != nil && !f.array && k.account && !f.bank {
		f.sawAccount = true // kept, unless a bank number comes later in the object
	}
	var r rule
	switch {
	case k.sensitive, f != nil && f.bank && k.account:
		r = rule{scalar: redact, structure: redact, authz: k.authorization}
	case k.number:
		r = rule{longDigits: true}
	case f != nil && f.marked && k.valueLike:
		r = rule{scalar: redact, structure: redact}
	case k.fieldErrors:
		r = rule{fieldErrors: true}
	case f != nil && f.fieldErrors && !k.descriptive:
		r = rule{scalar: redact, fieldErrors: true}
	case f != nil && f.fieldErrors:
		r = rule{fieldErrors: true}
	}
	r.naming = k.naming
	if f != nil && !f.array && k.valueLike {
		f.sawValue = true
	}
	w.pending, w.has = r, true
	switch {
	case w.survey:
	case k.plain && !dropped:
		w.emit(tok)
	default:
		w.textString(tok, content, dropped, closed)
	}
}

// stringValue emits a string value: JSON inside it is redacted as a
// document, anything else as text.
func (w *docWalker) stringValue(tok, content string, dropped, closed bool) {
	if w.level < maxLevels {
		t := strings.TrimLeft(content, " \t\r\n\ufeff")
		if t != "" && (t[0] == '{' || t[0] == '[') {
			inner, changed := document(content, w.level+1)
			if changed || dropped {
				w.replace("")
				w.out = appendJSONString(w.out, b2s(inner), closed)
			} else {
				w.emit(tok)
			}
			return
		}
	}
	w.textString(tok, content, dropped, closed)
}

// textString emits a string token through Text: the token as it was when
// nothing changed, re-encoded otherwise.
func (w *docWalker) textString(tok, content string, dropped, closed bool) {
	red, changed := appendText(nil, content)
	switch {
	case changed:
		w.replace("")
		w.out = appendJSONString(w.out, b2s(red), closed)
	case dropped:
		w.replace("")
		w.out = appendJSONString(w.out, content, closed)
	default:
		w.emit(tok)
	}
}

// scalar handles a bare value (a number, a literal, or the words of
// broken JSON) up to the next delimiter.
func (w *docWalker) scalar(p int) int {
	s := w.s
	q := p
	for q < len(s) && strings.IndexByte("\",{}[]\n\r", s[q]) < 0 {
		q++
	}
	if q == p { // a closer or comma outside any structure
		w.has = false
		w.emit(s[p : p+1])
		return p + 1
	}
	run := s[p:q]
	tok := strings.TrimRight(run, " \t")
	r := w.valueRule()
	w.has = false
	if w.survey {
		w.has = w.assignmentPending(run)
		return q
	}
	switch {
	case r.scalar == redact && tok != "true" && tok != "false" && tok != "null" && tok != "",
		r.longDigits && countDigits(tok) >= 12:
		w.replace(`"` + Redacted + `"`)
		w.emit(run[len(tok):])
	default:
		red, changed := appendText(nil, tok)
		switch {
		case !changed:
			w.emit(run)
		case strings.ContainsAny(tok, " \t"):
			w.replace(b2s(red))
			w.emit(run[len(tok):])
		default: // one token, such as a card number written as a JSON number
			w.replace(`"` + Redacted + `"`)
			w.emit(run[len(tok):])
		}
		w.has = w.assignmentPending(run)
	}
	return q
}

// text handles free text outside any structure, up to the next string or
// structure.
//
// A markup tag is one run with its quoted attributes (<input name="cvc"
// value="…">), so that Text sees the whole tag; a '[' glued to a word is
// a form key's bracket (card[cvc]=…), not an array.
func (w *docWalker) text(p int) int {
	s := w.s
	q := p
	tag := -1 // start of the markup tag q is in
	for ; q < len(s); q++ {
		c := s[q]
		if tag >= 0 {
			if c == '>' || c == '<' || q-tag > maxTag {
				tag = -1
			}
			if c != '<' {
				continue
			}
		}
		if c == '<' && q+1 < len(s) && (isAlpha(s[q+1]) || s[q+1] == '_') {
			tag = q
			continue
		}
		if c == '"' || c == '{' || c == '[' && !formBracket(s, q) {
			break
		}
	}
	run := s[p:q]
	if !w.survey {
		red, changed := appendText(nil, run)
		switch {
		case !changed:
			w.emit(run)
		case q == len(s) && strings.TrimLeft(s[:p], " \t\r\n") == "" && jsonNumber(strings.TrimSpace(run)):
			// The whole document is one JSON number: it stays JSON.
			t := strings.TrimLeft(run, " \t\r\n")
			w.emit(run[:len(run)-len(t)])
			w.replace(`"` + Redacted + `"`)
			w.emit(t[len(strings.TrimRight(t, " \t\r\n")):])
		default:
			w.replace(b2s(red))
		}
	}
	w.has = w.assignmentPending(run)
	return q
}

// formBracket reports whether the '[' at p is a form key's (card[cvc]=):
// glued to a word.
func formBracket(s string, p int) bool {
	return p > 0 && s[p] == '[' && isWordByte(s[p-1]) && s[p-1] < 0x80
}

// jsonNumber reports whether s looks like one JSON number.
func jsonNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("+-.eE0123456789", s[i]) < 0 {
			return false
		}
	}
	return true
}

// assignmentPending reports whether run ends with a sensitive key and '='
// or ':' (password="…", Authorization: "…"), and sets the rule of the value
// that follows.
func (w *docWalker) assignmentPending(run string) bool {
	j := len(run)
	for j > 0 && len(run)-j < 16 && (run[j-1] == ' ' || run[j-1] == '\t') {
		j--
	}
	if j >= 2 && run[j-1] == '>' && run[j-2] == '=' { // a Ruby hash: :password=>"…"
		j--
	}
	if j == 0 || (run[j-1] != '=' && run[j-1] != ':') {
		return false
	}
	key, ok := keyBefore(run, j-1, 0)
	if !ok || !SensitiveKey(key) {
		return false
	}
	w.pending = rule{scalar: redact, structure: redact}
	return true
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); {
		v, size := digitAt(s, i)
		if v >= 0 {
			n++
			i += size
		} else {
			i++
		}
	}
	return n
}

// looksLikeName: a header or parameter name, not a sentence.
func looksLikeName(s string) bool {
	return len(s) <= 64 && !strings.ContainsAny(s, " \t\n")
}

// decodeString returns the content of a JSON string body, tolerantly:
// invalid escapes are kept as written. NUL characters (\u0000) become
// U+FFFD, and dropped reports it. Without escapes it returns raw itself.
func decodeString(raw string, esc bool) (content string, dropped bool) {
	if !esc {
		return raw, false
	}
	b, dropped := jsonstr.UnescapeTolerant(make([]byte, 0, len(raw)), raw)
	return b2s(b), dropped
}

// appendJSONString appends s as a JSON string (closed or not, as the
// string it replaces was).
func appendJSONString(dst []byte, s string, closed bool) []byte {
	dst = jsonstr.AppendEscaped(append(dst, '"'), s)
	if closed {
		dst = append(dst, '"')
	}
	return dst
}

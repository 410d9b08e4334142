package ingest

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/store"
)

// FuzzRecordToRows follows any raw record through the whole path to what
// the store is handed to write (events, dead letters, rollups and groups)
// and checks every string there: valid UTF-8, and nothing left that the
// detectors would still remove (each string is a fixed point of
// redaction), unless the string was cut to its bound.
func FuzzRecordToRows(f *testing.F) {
	for _, s := range []string{
		`{"ts":"2026-11-22T10:00:00Z","provider":"finix","status":402,"response_body":{"_embedded":{"errors":[{"logref":"L1","code":"DECLINED","failure_code":"CALL_ISSUER","message":"card 4111 1111 1111 1111"}]}}}`,
		`{"ts":"2026-11-22T10:00:00Z","provider":"flexiti","status":409,"response_body":"{\"error\":\"wrong_input\",\"field_errors\":[{\"param\":\"piw\",\"value\":\"bluebird\"}]}"}`,
		`{"ts":"2026-11-22T10:00:00Z","status":502,"response_body":"<html><TİTLE>ȺȺ \u212A\u212A jane@example.com</title>"}`,
		"{\"ts\":\"2026-11-22T10:00:00Z\",\"tenant\":\"ß ẞ ı İ ４１１１ １１１１ １１１１ １１１１\",\"status\":500}",
		`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":{"password":"x","a":[{"name":"Cookie","value":"c"}]},}`,
		"{\"status\":500,\"x\":\"\x00\",\"request_headers\":{\"X-Auth-Token\":\"t\"}}",
		`{"ts":"2026-11-22T10:00:00Z","provider":"paylera","method":"post","url":"http://u:pw@api.paylera.com/v1/x/4111111111111111","status":422,"trace_id":"jane@example.com","response_body":{"problem":"x","trace_id":"T1","errors":[{"field":"card_4111111111111111"}]}}`,
	} {
		f.Add([]byte(s))
	}
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		f.Fatal(err)
	}
	c, err := classify.New(cats, classify.Options{MaxBodyBytes: 256})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, record []byte) {
		var internal int
		bb := NewBuilder(c, store.Source{Group: "g", Topic: "t"}, store.NoOffset, BuilderOptions{
			Now:           func() time.Time { return now },
			InternalError: func(*classify.RecordError, string, int32, int64) { internal++ },
		})
		bb.Add(record, "t", 0, 0)
		b := bb.Take(1)
		if internal > 0 {
			t.Fatalf("the record made faultline fail: %+v", b.DeadLetters)
		}
		check := func(where, s string, bound int, document bool) {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%s: invalid text %q", where, s)
			}
			if bound > 0 && len(s) >= bound-64 {
				return // cut to its bound: a cut may end in what looks like a number
			}
			again := redact.Text(s)
			if document {
				again = redact.Document(s)
			}
			if again != s {
				t.Fatalf("%s: %q still holds what redaction removes (%q)", where, s, again)
			}
		}
		for _, e := range b.Events {
			v := reflect.ValueOf(e.Event)
			for i := 0; i < v.NumField(); i++ {
				name := v.Type().Field(i).Name
				switch fv := v.Field(i); {
				case name == "Body":
					check(name, fv.String(), 256, true)
				case name == "Message":
					check(name, fv.String(), 1024, true)
				case fv.Kind() == reflect.String:
					check(name, fv.String(), 200, false)
				case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
					for j := 0; j < fv.Len(); j++ {
						check(name, fv.Index(j).String(), 200, false)
					}
				}
			}
		}
		for _, d := range b.DeadLetters {
			check("dead letter raw", d.Raw, maxDeadLetterBytes, true)
			check("dead letter detail", d.Detail, maxDetailBytes, true)
		}
		for _, r := range b.Requests {
			check("request rollup", r.Provider+" "+r.Endpoint, 0, false)
		}
		for _, r := range b.Errors {
			check("error rollup", r.Provider+" "+string(r.Category)+" "+r.Code+" "+r.Subcode, 0, false)
		}
		for _, g := range b.Groups {
			check("group", g.Provider+" "+g.Code+" "+g.Subcode+" "+g.Method+" "+g.Endpoint+" "+g.SampleCorrelationID, 0, false)
			check("group message", g.SampleMessage, 1024, true)
		}
	})
}

// BenchmarkWorstRecords: records built to make redaction quadratic,
// through the builder (classify, then a dead letter or an event): 40,000
// nested {"number":1,"a":…} objects took 6 s to dead-letter, and fifty
// such records of 170 KB 37 s. Each should take the same time per byte at
// any size.
func BenchmarkWorstRecords(b *testing.B) {
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		b.Fatal(err)
	}
	c, err := classify.New(cats, classify.Options{})
	if err != nil {
		b.Fatal(err)
	}
	nested := func(n int) []byte {
		return []byte(`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":` + strings.Repeat(`{"number":1,"a":`, n) + "1" + strings.Repeat("}", n) + "}")
	}
	for _, tc := range []struct {
		name string
		rec  []byte
	}{
		{"nested number objects 170KB", nested(170 << 10 / 16)},
		{"nested number objects 1MB", nested(1<<20/16 - 8)},
		{"nested string body 1MB", []byte(`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":"` + strings.Repeat(`{\"value\":\"v\",\"a\":`, (1<<20)/22) + `"}`)},
		{"at signs 1MB", []byte(`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":"` + strings.Repeat("a%40", 1<<18-32) + `"}`)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.rec)))
			now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			for b.Loop() {
				bb := NewBuilder(c, store.Source{Group: "g", Topic: "t"}, store.NoOffset, BuilderOptions{Now: func() time.Time { return now }})
				bb.Add(tc.rec, "t", 0, 0)
			}
		})
	}
}

package reshape

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Encoding is how the Collector's Kafka exporter encodes logs.
type Encoding string

// The exporter's encodings.
const (
	OTLPProto Encoding = "otlp_proto" // its default
	OTLPJSON  Encoding = "otlp_json"
)

// Layout is how an OpenTelemetry log record carries a call.
type Layout int

// The layouts.
const (
	// SemconvCurrent: attributes of the HTTP semantic conventions
	// (http.request.method, url.full, server.address,
	// http.response.status_code, error.type, http.response.header.*), the
	// provider's body as the log body.
	SemconvCurrent Layout = iota
	// SemconvOld: the conventions before 1.23 (http.method, http.url,
	// http.status_code, net.peer.name).
	SemconvOld
	// Filelog: the filelog receiver reading our services' NDJSON files:
	// the contract record is the log body, as a string.
	Filelog
)

// OTLP writes calls as one message of the Collector's Kafka exporter: one
// resource per service (service.name, deployment.environment.name), one
// scope, a log record per call.
func OTLP(calls []Call, enc Encoding, layout Layout) ([]byte, error) {
	ld := plog.NewLogs()
	scopes := map[string]plog.ScopeLogs{}
	for _, c := range calls {
		sl, ok := scopes[c.Service+"\x00"+c.Env]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", c.Service)
			rl.Resource().Attributes().PutStr("deployment.environment.name", c.Env)
			rl.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("github.com/example/payments/providerclient")
			scopes[c.Service+"\x00"+c.Env] = sl
		}
		lr := sl.LogRecords().AppendEmpty()
		writeRecord(lr, c, layout)
	}
	switch enc {
	case OTLPProto:
		return (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	case OTLPJSON:
		return (&plog.JSONMarshaler{}).MarshalLogs(ld)
	}
	return nil, fmt.Errorf("reshape: unknown encoding %q", enc)
}

func writeRecord(lr plog.LogRecord, c Call, layout Layout) {
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(c.TS.Add(3e6)))
	if layout == Filelog {
		lr.Body().SetStr(string(Contract(c)))
		lr.Attributes().PutStr("log.file.name", "provider-calls.ndjson")
		return
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(c.TS))
	lr.SetSeverityText("INFO")
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	if failed(c) {
		lr.SetSeverityText("ERROR")
		lr.SetSeverityNumber(plog.SeverityNumberError)
	}
	if id, err := hex.DecodeString(c.TraceID); err == nil && len(id) == 16 {
		lr.SetTraceID(pcommon.TraceID(id))
	}
	a := lr.Attributes()
	host := ""
	if u, err := url.Parse(c.URL); err == nil {
		host = u.Hostname()
	}
	if layout == SemconvOld {
		a.PutStr("http.method", c.Method)
		a.PutStr("http.url", c.URL)
		a.PutStr("net.peer.name", host)
		if c.Status != 0 {
			a.PutInt("http.status_code", int64(c.Status))
		}
	} else {
		a.PutStr("http.request.method", c.Method)
		a.PutStr("url.full", c.URL)
		a.PutStr("server.address", host)
		if c.Status != 0 {
			a.PutInt("http.response.status_code", int64(c.Status))
		}
	}
	if c.Provider != "" {
		a.PutStr("peer.service", c.Provider)
	}
	if c.Error != "" {
		a.PutStr("error.type", "timeout")
		a.PutStr("exception.message", c.Error)
	}
	a.PutStr("tenant", c.Tenant)
	a.PutDouble("duration_ms", c.DurationMS)
	for _, k := range headerNames(c.ResponseHeaders) {
		a.PutEmptySlice("http.response.header." + strings.ToLower(k)).AppendEmpty().SetStr(c.ResponseHeaders[k])
	}
	if c.ResponseBody != "" {
		lr.Body().SetStr(c.ResponseBody)
	} else {
		lr.Body().SetStr("provider call")
	}
}

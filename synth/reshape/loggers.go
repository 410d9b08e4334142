package reshape

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"
	"go.elastic.co/ecszap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The structured loggers, each the real library writing one line about a
// call the way an integration client would log it.

// clock makes a zap logger's time the call's.
type clock time.Time

func (c clock) Now() time.Time                         { return time.Time(c) }
func (c clock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func failed(c Call) bool { return c.Status == 0 || c.Status >= 400 }

func zapLine(c Call, core func(*bytes.Buffer) zapcore.Core, fields []zap.Field) []byte {
	var buf bytes.Buffer
	l := zap.New(core(&buf), zap.WithClock(clock(c.TS)))
	if failed(c) {
		l.Error("provider call failed", fields...)
	} else {
		l.Info("provider call", fields...)
	}
	_ = l.Sync()
	return bytes.TrimSpace(buf.Bytes())
}

func jsonCore(buf *bytes.Buffer) zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(buf), zap.DebugLevel)
}

func headerField(name string, h map[string]string) zap.Field {
	return zap.Object(name, zapcore.ObjectMarshalerFunc(func(e zapcore.ObjectEncoder) error {
		for _, k := range headerNames(h) {
			e.AddString(k, h[k])
		}
		return nil
	}))
}

// Zap writes c with zap's production JSON encoder (ts in epoch seconds as
// a float), its facts as flat fields named as the contract names them.
func Zap(c Call) ([]byte, error) {
	f := []zap.Field{zap.String("service", c.Service), zap.String("env", c.Env), zap.String("tenant", c.Tenant)}
	if c.Provider != "" {
		f = append(f, zap.String("provider", c.Provider))
	}
	f = append(f, zap.String("method", c.Method), zap.String("url", c.URL))
	if c.Status != 0 {
		f = append(f, zap.Int("status", c.Status))
	}
	if c.Error != "" {
		f = append(f, zap.Error(errors.New(c.Error)))
	}
	f = append(f, zap.Float64("duration_ms", c.DurationMS), headerField("response_headers", c.ResponseHeaders))
	if c.ResponseBody != "" {
		f = append(f, zap.String("response_body", c.ResponseBody))
	}
	f = append(f, zap.String("trace_id", c.TraceID))
	return zapLine(c, jsonCore, f), nil
}

// ZapNested writes c with zap, the HTTP facts nested under "http" (zap.Dict)
// with the status as status_code and the response under http.response.
func ZapNested(c Call) ([]byte, error) {
	httpf := []zap.Field{zap.String("method", c.Method), zap.String("url", c.URL)}
	if c.Status != 0 {
		httpf = append(httpf, zap.Int("status_code", c.Status))
	}
	resp := []zap.Field{headerField("headers", c.ResponseHeaders)}
	if c.ResponseBody != "" {
		resp = append(resp, zap.String("body", c.ResponseBody))
	}
	httpf = append(httpf, zap.Dict("response", resp...))
	f := []zap.Field{zap.String("provider", c.Provider), zap.String("tenant", c.Tenant), zap.Dict("http", httpf...),
		zap.Duration("duration", time.Duration(c.DurationMS*float64(time.Millisecond))), zap.String("trace_id", c.TraceID)}
	if c.Error != "" {
		f = append(f, zap.Error(errors.New(c.Error)))
	}
	return zapLine(c, jsonCore, f), nil
}

// Zerolog writes c with zerolog's defaults ("time" in RFC 3339 seconds,
// "message"), the status as status_code and the body as response.
func Zerolog(c Call) ([]byte, error) {
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	ev := l.Info()
	if failed(c) {
		ev = l.Error()
	}
	ev = ev.Time(zerolog.TimestampFieldName, c.TS).Str("service", c.Service).Str("tenant", c.Tenant)
	if c.Provider != "" {
		ev = ev.Str("provider", c.Provider)
	}
	ev = ev.Str("method", c.Method).Str("url", c.URL)
	if c.Status != 0 {
		ev = ev.Int("status_code", c.Status)
	}
	if c.Error != "" {
		ev = ev.Err(errors.New(c.Error))
	}
	d := zerolog.Dict()
	for _, k := range headerNames(c.ResponseHeaders) {
		d = d.Str(k, c.ResponseHeaders[k])
	}
	ev = ev.Dict("response_headers", d).Float64("duration_ms", c.DurationMS)
	if c.ResponseBody != "" {
		ev = ev.Str("response", c.ResponseBody)
	}
	ev.Str("trace_id", c.TraceID).Msg("provider call")
	return bytes.TrimSpace(buf.Bytes()), nil
}

// Slog writes c with log/slog's JSONHandler, the HTTP facts in a group
// ("http": {"method", "url", "status", "response": {"headers", "body"}}).
func Slog(c Call) ([]byte, error) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	level, msg := slog.LevelInfo, "provider call"
	if failed(c) {
		level, msg = slog.LevelError, "provider call failed"
	}
	r := slog.NewRecord(c.TS, level, msg, 0)
	resp := []any{slog.Any("headers", c.ResponseHeaders)}
	if c.ResponseBody != "" {
		resp = append(resp, slog.String("body", c.ResponseBody))
	}
	httpg := []any{slog.String("method", c.Method), slog.String("url", c.URL)}
	if c.Status != 0 {
		httpg = append(httpg, slog.Int("status", c.Status))
	}
	httpg = append(httpg, slog.Group("response", resp...))
	r.AddAttrs(slog.String("service", c.Service), slog.String("tenant", c.Tenant), slog.String("provider", c.Provider),
		slog.Group("http", httpg...), slog.Float64("duration_ms", c.DurationMS), slog.String("trace_id", c.TraceID))
	if c.Error != "" {
		r.AddAttrs(slog.Any("err", errors.New(c.Error)))
	}
	if err := h.Handle(context.Background(), r); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// Logrus writes c with logrus's JSONFormatter (its default RFC 3339
// seconds), fields http_method, url, status_code, response.
func Logrus(c Call) ([]byte, error) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.JSONFormatter{})
	f := logrus.Fields{"service": c.Service, "tenant": c.Tenant, "http_method": c.Method, "url": c.URL,
		"response_headers": c.ResponseHeaders, "duration_ms": c.DurationMS, "trace_id": c.TraceID}
	if c.Provider != "" {
		f["provider"] = c.Provider
	}
	if c.Status != 0 {
		f["status_code"] = c.Status
	}
	if c.ResponseBody != "" {
		f["response"] = c.ResponseBody
	}
	e := l.WithTime(c.TS).WithFields(f)
	if c.Error != "" {
		e.WithError(errors.New(c.Error)).Error("provider call failed")
	} else if failed(c) {
		e.Error("provider call failed")
	} else {
		e.Info("provider call")
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// ECS writes c with ecszap, Elastic's zap core for the Elastic Common
// Schema: dotted keys (@timestamp, log.level, http.request.method,
// url.full, http.response.status_code, http.response.body.content,
// trace.id, labels.*), errors as error.message.
func ECS(c Call) ([]byte, error) {
	core := func(buf *bytes.Buffer) zapcore.Core {
		return ecszap.NewCore(ecszap.NewDefaultEncoderConfig(), zapcore.AddSync(buf), zap.DebugLevel)
	}
	f := []zap.Field{zap.String("service.name", c.Service), zap.String("service.environment", c.Env),
		zap.String("labels.tenant", c.Tenant), zap.String("http.request.method", c.Method), zap.String("url.full", c.URL)}
	if c.Provider != "" {
		f = append(f, zap.String("labels.provider", c.Provider))
	}
	if c.Status != 0 {
		f = append(f, zap.Int("http.response.status_code", c.Status))
	}
	if c.ResponseBody != "" {
		f = append(f, zap.String("http.response.body.content", c.ResponseBody))
	}
	if len(c.ResponseHeaders) > 0 { // not an ECS field, but where teams put them
		f = append(f, headerField("http.response.headers", c.ResponseHeaders))
	}
	if c.Error != "" {
		f = append(f, zap.Error(errors.New(c.Error)))
	}
	f = append(f, zap.Int64("event.duration", int64(c.DurationMS*1e6)), zap.String("trace.id", c.TraceID))
	return zapLine(c, core, f), nil
}

// ECSNested writes c as Filebeat and Elastic Agent ship ECS documents:
// nested objects, @timestamp with a zone offset written without a colon.
func ECSNested(c Call) ([]byte, error) {
	response := map[string]any{}
	if c.Status != 0 {
		response["status_code"] = c.Status
	}
	if c.ResponseBody != "" {
		response["body"] = map[string]any{"content": c.ResponseBody}
	}
	if len(c.ResponseHeaders) > 0 {
		response["headers"] = c.ResponseHeaders
	}
	doc := map[string]any{
		"@timestamp": c.TS.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000Z0700"),
		"ecs":        map[string]any{"version": "8.11.0"},
		"log":        map[string]any{"level": "info", "logger": "payments.client"},
		"message":    "provider call",
		"service":    map[string]any{"name": c.Service, "environment": c.Env},
		"labels":     map[string]any{"provider": c.Provider, "tenant": c.Tenant},
		"http":       map[string]any{"request": map[string]any{"method": c.Method}, "response": response},
		"url":        map[string]any{"original": c.URL},
		"event":      map[string]any{"duration": int64(c.DurationMS * 1e6)},
		"trace":      map[string]any{"id": c.TraceID},
	}
	if c.Error != "" {
		doc["error"] = map[string]any{"message": c.Error, "type": "net/http"}
	}
	return json.Marshal(doc)
}

// Logstash writes c as logstash-logback-encoder does from a Java client
// (StructuredArguments as flat fields; @timestamp with an offset).
func Logstash(c Call) ([]byte, error) {
	doc := map[string]any{
		"@timestamp": c.TS.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000-07:00"),
		"@version":   "1", "message": "provider call", "logger_name": "com.example.payments.ProviderClient",
		"thread_name": "http-nio-8080-exec-3", "level": "INFO", "level_value": 20000,
		"service": c.Service, "tenant": c.Tenant, "method": c.Method, "url": c.URL,
		"duration_ms": c.DurationMS, "trace_id": c.TraceID, "response_headers": c.ResponseHeaders,
	}
	if c.Provider != "" {
		doc["provider"] = c.Provider
	}
	if c.Status != 0 {
		doc["status"] = c.Status
	}
	if c.Error != "" {
		doc["error"] = c.Error
	}
	if c.ResponseBody != "" {
		doc["response_body"] = c.ResponseBody
	}
	return json.Marshal(doc)
}

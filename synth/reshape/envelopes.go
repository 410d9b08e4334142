package reshape

import (
	"encoding/json"
	"time"
)

// The envelopes container runtimes and log shippers put around a line a
// service wrote to stdout. Their field names and layouts are the shippers'
// defaults (fixtures written from their documentation: these are not Go
// libraries).

var kubernetes = map[string]any{
	"pod_name": "checkout-7d9f8b6c5-x2x4z", "namespace_name": "payments", "container_name": "checkout",
	"host": "node-3", "labels": map[string]any{"app": "checkout", "pod-template-hash": "7d9f8b6c5"},
	"container_image": "registry.example.com/checkout:1.42.0",
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Docker is Docker's json-file logging driver: the line (with its newline)
// in "log", the stream, and the time the runtime read it.
func Docker(line []byte, t time.Time) []byte {
	return marshal(map[string]any{"log": string(line) + "\n", "stream": "stdout", "time": t.Add(time.Millisecond).Format(time.RFC3339Nano)})
}

// FluentBit is Fluent Bit's tail input with the docker parser and the
// kubernetes filter (Merge_Log off): epoch "date", the line in "log".
func FluentBit(line []byte, t time.Time) []byte {
	return marshal(map[string]any{
		"date": float64(t.UnixNano())/1e9 + 0.002, "log": string(line) + "\n", "stream": "stdout",
		"time": t.Add(time.Millisecond).Format(time.RFC3339Nano), "kubernetes": kubernetes,
	})
}

// FluentBitMerged is the kubernetes filter with Merge_Log on and
// Merge_Log_Key log_processed: the parsed line beside the raw one.
func FluentBitMerged(line []byte, t time.Time) []byte {
	return marshal(map[string]any{
		"date": float64(t.UnixNano())/1e9 + 0.002, "log": string(line) + "\n", "stream": "stdout",
		"log_processed": json.RawMessage(line), "kubernetes": kubernetes,
	})
}

// Fluentd is Fluentd's in_tail of container logs with the
// kubernetes_metadata filter: no time of its own in the record.
func Fluentd(line []byte, _ time.Time) []byte {
	return marshal(map[string]any{
		"log": string(line) + "\n", "stream": "stdout", "docker": map[string]any{"container_id": "4f1c0a8e9b7d"},
		"kubernetes": kubernetes, "tag": "kubernetes.var.log.containers.checkout.log",
	})
}

// Vector is Vector's kubernetes_logs source: the line in "message".
func Vector(line []byte, t time.Time) []byte {
	return marshal(map[string]any{
		"message": string(line), "timestamp": t.Add(time.Millisecond).Format(time.RFC3339Nano),
		"source_type": "kubernetes_logs", "stream": "stdout", "file": "/var/log/pods/payments_checkout/checkout/0.log",
		"kubernetes": map[string]any{"pod_name": "checkout-7d9f8b6c5-x2x4z", "pod_namespace": "payments", "container_name": "checkout"},
	})
}

// CRI is a containerd/CRI-O log line parsed by Fluent Bit's cri parser:
// time, stream, logtag and the line in "log".
func CRI(line []byte, t time.Time) []byte {
	return marshal(map[string]any{"time": t.Add(time.Millisecond).Format(time.RFC3339Nano), "stream": "stdout", "logtag": "F", "log": string(line)})
}

// CRILine is a line of a containerd/CRI-O log file under /var/log/pods
// forwarded as it is (a shipper without a CRI parser, or a file source
// writing lines to Kafka): the runtime's time, the stream, the full-line
// tag, then the line.
func CRILine(line []byte, t time.Time) []byte {
	return append([]byte(t.Add(time.Millisecond).Format(time.RFC3339Nano)+" stdout F "), line...)
}

// FluentBitTail is Fluent Bit's tail input over /var/log/pods without the
// cri parser: the CRI line whole in "log".
func FluentBitTail(line []byte, t time.Time) []byte {
	return marshal(map[string]any{"log": string(CRILine(line, t)) + "\n"})
}

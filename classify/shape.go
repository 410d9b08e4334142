package classify

// Shape names the form a record arrived in. Teams ship the same facts
// through the logging stack they already run; each Shape is mapped to the
// contract's fields (DESIGN.md's input table) before classification. Its
// values are few and fixed, so they can label metrics.
type Shape string

// The shapes a record is read as.
const (
	// ShapeContract is the integration log record of DESIGN.md (with its
	// small variations: a status written "401 Unauthorized", a provider's
	// display name, a URL without a scheme, headers as one raw string).
	ShapeContract Shape = "contract"
	// ShapeOTLPJSON and ShapeOTLPProto are OpenTelemetry logs as the
	// Collector's Kafka exporter writes them (otlp_json, otlp_proto): one
	// message holds many log records, read with the HTTP semantic
	// conventions.
	ShapeOTLPJSON  Shape = "otlp_json"
	ShapeOTLPProto Shape = "otlp_proto"
	// ShapeECS is Elastic Common Schema JSON (ecszap, Filebeat,
	// ecs-logging), dotted or nested.
	ShapeECS Shape = "ecs"
	// ShapeContainer is a record held as a JSON string in a container
	// runtime's or log shipper's envelope (Docker json-file, Fluent Bit,
	// Fluentd, Vector, CRI), or merged by it (Fluent Bit's log_processed).
	ShapeContainer Shape = "container"
	// ShapeLogger is a structured logger's line about a call (zap, zerolog,
	// slog, logrus, logstash-logback): a message, a level, the call's
	// facts flat or nested.
	ShapeLogger Shape = "logger"
	// ShapeMapped is a record read through an input map (--input-map).
	ShapeMapped Shape = "mapped"
)

// Shapes lists every Shape, for pre-registering metric labels.
var Shapes = []Shape{ShapeContract, ShapeOTLPJSON, ShapeOTLPProto, ShapeECS, ShapeContainer, ShapeLogger, ShapeMapped}

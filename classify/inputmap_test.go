package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The worked examples of README's input maps (testdata/inputmaps): each
// reads its record as the call it is, which the built-in shapes alone do
// not.
func TestInputMapExamples(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	plain, err := New(cats, Options{})
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	for name, want := range map[string]struct {
		provider, endpoint, code, correlation string
		status                                int
		category                              Category
	}{
		"audit": {"finix", "/transfers", "DECLINED", "3fe8e6ab1e8cf44f", 402, Decline},
		"kong":  {"finterra", "/pos/v1/orders/{id}/payments", "", "req_01j2kong", 401, Auth},
		"envoy": {"paylera", "/v1/wallets/{id}", "", "", 503, ProviderError},
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("testdata", "inputmaps", name+".yaml"))
			require.NoError(t, err)
			require.True(t, strings.Contains(string(readme), string(doc)), "README shows testdata/inputmaps/%s.yaml as it is tested", name)
			m, err := ParseInputMap(name+".yaml", doc)
			require.NoError(t, err)
			c, err := New(cats, Options{InputMap: m})
			require.NoError(t, err)
			rec, err := os.ReadFile(filepath.Join("testdata", "inputmaps", name+".ndjson"))
			require.NoError(t, err)
			rec = []byte(strings.TrimSpace(string(rec)))

			ev, err := c.Classify(rec)
			require.NoError(t, err)
			require.Equal(t, ShapeMapped, ev.Shape)
			require.Equal(t, want.provider, ev.Provider)
			require.Equal(t, want.status, ev.Status)
			require.Equal(t, want.endpoint, ev.Endpoint)
			require.Equal(t, want.code, ev.Code)
			require.Equal(t, want.category, ev.Category)
			require.Equal(t, want.correlation, ev.CorrelationID)
			require.True(t, ev.IsError)

			got, err := plain.Classify(rec)
			if err == nil {
				require.NotEqual(t, ev.Fingerprint, got.Fingerprint, "without the map the record is not read right")
			}

			// Records the map does not apply to read as before.
			ev, err = c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","url":"https://finix.live-payments-api.com/transfers","status":201}`))
			require.NoError(t, err)
			require.Equal(t, ShapeContract, ev.Shape)
		})
	}
}

func TestInputMapErrorsNameTheKeyAndLine(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"unknown field":         {"fields:\n  ts: a\n  stauts: b\n", `line 3: fields: unknown field "stauts"`},
		"empty path":            {"fields:\n  ts: \"\"\n", "line 2: fields: ts: empty path"},
		"empty name in a path":  {"fields:\n  status: http..code\n", `line 2: fields: status: path "http..code" has an empty name`},
		"not a path":            {"fields:\n  url: [a, b]\n", "line 2: fields: url: want a path"},
		"a number":              {"fields:\n  url: 12\n", "line 2: fields: url: want a path"},
		"given twice":           {"fields:\n  url: a\n  url: b\n", "line 3: fields: url given twice"},
		"no fields":             {"unwrap: payload\n", "fields: want a mapping"},
		"unknown top-level key": {"fields:\n  ts: a\nunrwap: b\n", "field unrwap not found"},
		"bad unwrap":            {"unwrap: a..b\nfields:\n  ts: a\n", `line 1: unwrap: path "a..b" has an empty name`},
		"empty document":        {"", "empty document"},
		"not yaml":              {"fields: [\n", "did not find expected"},
	} {
		_, err := ParseInputMap("m.yaml", []byte(tc.doc))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), tc.want, name)
		require.Contains(t, err.Error(), "input map m.yaml", name)
	}
}

// TestInputMapOverridesAndFallsBack: fields the map names come from its
// paths, the others from where the shapes faultline knows write them; a
// record none of the map's fields is in reads as without the map.
func TestInputMapOverridesAndFallsBack(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	m, err := ParseInputMap("m", []byte("fields:\n  status: outcome.code\n"))
	require.NoError(t, err)
	c, err := New(cats, Options{InputMap: m})
	require.NoError(t, err)
	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","url":"https://finix.live-payments-api.com/transfers","status":200,"outcome":{"code":503}}`))
	require.NoError(t, err)
	require.Equal(t, 503, ev.Status, "the map's status wins")
	require.Equal(t, ShapeMapped, ev.Shape)
	require.Equal(t, "/transfers", ev.Endpoint, "the url is the contract's")
	_, err = c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","outcome":{"code":"ok"}}`))
	require.Equal(t, ReasonBadStatus, ReasonOf(err))
}

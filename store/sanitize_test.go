package store

import "testing"

func TestSanitize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"clean kept", "héllo wörld", 0, "héllo wörld"},
		{"invalid utf8", "a\xffb", 0, "a\uFFFDb"},
		{"nul bytes", "a\x00b", 0, "ab"},
		{"json escape kept in plain text", `a\u0000b`, 0, `a\u0000b`},
		{"truncation on rune boundary", "héllo", 2, "h"},
		{"truncation exact", "héllo", 3, "hé"},
		{"negative max means no bound", "héllo", -1, "héllo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitize(tc.in, tc.max); got != tc.want {
				t.Errorf("sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
	clean := "already fine"
	if n := testing.AllocsPerRun(100, func() { _ = sanitize(clean, 100) }); n != 0 {
		t.Errorf("sanitize of a clean string allocs = %v, want 0", n)
	}
}

func TestDisplayURLHidesSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://faultline_ingest:s3cret@db:5432/faultline?sslmode=verify-full&sslpassword=k3y": "postgres://faultline_ingest@db:5432/faultline",
		"postgresql://db/faultline":                       "postgresql://db/faultline",
		"host=db user=faultline password=s3cret dbname=x": "(a connection string, not shown)",
		"mysql://root:s3cret@db/x":                        "(a connection string, not shown)",
		"postgres://%zz":                                  "(a connection string, not shown)",
	} {
		if got := DisplayURL(in); got != want {
			t.Errorf("DisplayURL(%q) = %q, want %q", in, got, want)
		}
	}
}

package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline-dev/faultline/pgtest"
)

// TestAttackCorpus replays the attack corpus (testdata/attack) with
// `ingest replay` into a fresh database, reads back every column of every
// table, and fails on any planted secret found there, raw or disguised;
// it checks `ingest classify` output the same way, and that what an
// escalation needs (provider request ids, trace ids, Finix AU…/TR… ids,
// codes, messages minus their secrets) is kept.
//
// Run it with: go test ./test/ -run TestAttackCorpus -v
func TestAttackCorpus(t *testing.T) {
	now := time.Now().UTC()
	var corpus *attackCorpus
	if !t.Run("corpus is consistent", func(t *testing.T) { corpus = loadAttackCorpus(t, now) }) {
		t.FailNow()
	}
	path := corpus.writeCorpus(t)

	dbURL := pgtest.New(t)
	if out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput(); err != nil {
		t.Fatalf("ingest migrate: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	replay := exec.Command(ingestBin, "replay", "--database-url", dbURL, path)
	replay.Stdout, replay.Stderr = &stdout, &stderr
	if err := replay.Run(); err != nil {
		t.Fatalf("ingest replay of the attack corpus failed (%v): no record may stop the pipeline\nstdout: %s\nstderr: %s",
			err, stdout.String(), tail(stderr.String(), 4000))
	}
	t.Logf("ingest replay: %s", strings.TrimSpace(stdout.String()))

	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := dumpDatabase(t, db)

	stdout.Reset()
	stderr.Reset()
	classify := exec.Command(ingestBin, "classify")
	classify.Stdin = strings.NewReader(strings.Join(corpus.lines, "\n") + "\n")
	classify.Stdout, classify.Stderr = &stdout, &stderr
	if err := classify.Run(); err != nil {
		t.Fatalf("ingest classify of the attack corpus failed (%v)\nstderr: %s", err, tail(stderr.String(), 4000))
	}
	classified := classifyCells(t, stdout.String(), len(corpus.lines))

	t.Run("every record lands where the manifest says", func(t *testing.T) {
		checkDisposition(t, corpus, stored)
	})
	t.Run("no planted secret in the database", func(t *testing.T) {
		reportLeaks(t, corpus, findLeaks(corpus, stored), "stored")
	})
	t.Run("no planted secret in ingest classify output", func(t *testing.T) {
		reportLeaks(t, corpus, findLeaks(corpus, classified), "printed by ingest classify")
	})
	t.Run("what an escalation needs is kept", func(t *testing.T) {
		checkKept(t, corpus, stored, classified)
	})
}

// cell is one value read back: a column of a stored row, or a field of an
// output line, as text. line is the corpus line the row or output line comes
// from, 0 when unknown (rollups and groups aggregate many records).
type cell struct {
	where string // "events.message", "classify.code"
	line  int
	text  string
	norm  string
}

// dumpDatabase reads every column of every row of every table (partitions
// included, under their parent's name) in every non-system schema, as text.
// Tables with a src_offset column (replayed records' line index) tie their
// rows to corpus lines.
func dumpDatabase(t *testing.T, db *pgxpool.Pool) []cell {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `
		SELECT n.nspname, c.relname,
		       coalesce((SELECT r.relname FROM pg_class r WHERE r.oid = pg_partition_root(c.oid)), c.relname),
		       array_agg(a.attname::text ORDER BY a.attnum),
		       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'm')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
		  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
		GROUP BY n.nspname, c.relname, c.oid
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct {
		schema, name, root string
		cols, types        []string
	}
	var tables []table
	for rows.Next() {
		var tb table
		if err := rows.Scan(&tb.schema, &tb.name, &tb.root, &tb.cols, &tb.types); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tb)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var cells []cell
	seen := map[string]bool{}
	for _, tb := range tables {
		seen[tb.root] = true
		exprs := []string{"NULL::bigint"}
		for i, col := range tb.cols {
			id := pgx.Identifier{col}.Sanitize()
			if col == "src_offset" {
				exprs[0] = id + "::bigint"
			}
			if tb.types[i] == "bytea" {
				exprs = append(exprs, "encode("+id+", 'escape')")
			} else {
				exprs = append(exprs, id+"::text")
			}
		}
		q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + pgx.Identifier{tb.schema, tb.name}.Sanitize()
		rows, err := db.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			vals := make([]*string, len(tb.cols))
			var off *int64
			dest := []any{&off}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			line := 0
			if off != nil {
				line = int(*off) + 1
			}
			for i, v := range vals {
				if v != nil && *v != "" {
					cells = append(cells, cell{where: tb.root + "." + tb.cols[i], line: line, text: *v, norm: normalize(*v)})
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	for _, want := range []string{"events", "dead_letters", "rollup_requests", "rollup_errors", "error_groups"} {
		if !seen[want] {
			t.Fatalf("table %s not found: the dump would miss it", want)
		}
	}
	return cells
}

// classifyCells turns `ingest classify` output into cells, one per field of
// each line (nested fields named with dots), checking that it wrote exactly
// one line per input line, in order.
func classifyCells(t *testing.T, out string, lines int) []cell {
	t.Helper()
	var cells []cell
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	n := 0
	for sc.Scan() {
		n++
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("ingest classify output line %d is not JSON: %v", n, err)
			cells = append(cells, cell{where: "classify.(line)", line: n, text: sc.Text(), norm: normalize(sc.Text())})
			continue
		}
		if m, ok := v.(map[string]any); !ok || m["line"] != float64(n) {
			t.Errorf("ingest classify output line %d does not answer input line %d: %.200s", n, n, sc.Text())
		}
		flatten("classify", v, func(where, text string) {
			cells = append(cells, cell{where: where, line: n, text: text, norm: normalize(text)})
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != lines {
		t.Errorf("ingest classify wrote %d lines for %d input lines", n, lines)
	}
	return cells
}

func flatten(prefix string, v any, emit func(where, text string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(prefix+"."+k, e, emit)
		}
	case []any:
		for _, e := range x {
			flatten(prefix, e, emit)
		}
	case string:
		emit(prefix, x)
	case float64:
		emit(prefix, strconv.FormatFloat(x, 'f', -1, 64))
	case bool, nil:
	default:
		emit(prefix, fmt.Sprint(x))
	}
}

// leak is one planted secret found, and where.
type leak struct {
	plant *plant
	what  string   // "secret" or "fragment …"
	where []string // table.column (row of line N) or classify.field
}

// findLeaks searches every cell for every planted secret. A secret long
// enough to be unmistakable is searched everywhere; a short one (CVV, PIN)
// and a fragment only in the cells of its own record.
func findLeaks(c *attackCorpus, cells []cell) []leak {
	byLine := map[int][]int{}
	for i, cl := range cells {
		if cl.line > 0 {
			byLine[cl.line] = append(byLine[cl.line], i)
		}
	}
	var leaks []leak
	for _, p := range c.plants {
		own := byLine[p.Line]
		var where []string
		add := func(cl cell) {
			w := cl.where
			if cl.line > 0 && cl.line != p.Line {
				w += fmt.Sprintf(" (row of line %d)", cl.line)
			}
			for _, x := range where {
				if x == w {
					return
				}
			}
			where = append(where, w)
		}
		if p.short() {
			for _, i := range own {
				if containsSecret(cells[i].norm, p.norm) {
					add(cells[i])
				}
			}
		} else {
			for _, cl := range cells {
				if strings.Contains(cl.norm, p.norm) {
					add(cl)
				}
			}
		}
		if len(where) > 0 {
			leaks = append(leaks, leak{plant: p, what: "secret", where: where})
			continue
		}
		for k, fr := range p.normFrags {
			for _, i := range own {
				if containsSecret(cells[i].norm, fr) {
					add(cells[i])
				}
			}
			if len(where) > 0 {
				leaks = append(leaks, leak{plant: p, what: fmt.Sprintf("fragment %q", p.Fragments[k]), where: where})
				break
			}
		}
	}
	return leaks
}

// reportLeaks fails with one line per leaking record, then a count per
// class.
func reportLeaks(t *testing.T, c *attackCorpus, leaks []leak, verb string) {
	t.Helper()
	if len(leaks) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d planted secrets %s:\n", len(leaks), len(c.plants), verb)
	leaked := map[string]int{}
	for _, l := range leaks {
		p := l.plant
		leaked[p.Class]++
		leaked[p.Class+"/"+p.Where]++
		what := ""
		if l.what != "secret" {
			what = " (" + l.what + ")"
		}
		fmt.Fprintf(&b, "  line %3d  %-15s %-11s %-58s %q%s → %s\n",
			p.Line, p.Class, p.Where, p.Field, p.Secret, what, strings.Join(l.where, ", "))
	}
	fmt.Fprintf(&b, "per class: leaked/records (event, dead_letter, any):\n")
	total := map[string]int{}
	var classes []string
	for _, p := range c.plants {
		if total[p.Class] == 0 {
			classes = append(classes, p.Class)
		}
		total[p.Class]++
		total[p.Class+"/"+p.Where]++
	}
	sort.Strings(classes)
	for _, cl := range classes {
		if cl == "" {
			continue
		}
		fmt.Fprintf(&b, "  %-15s %3d/%-3d  (%d/%d, %d/%d, %d/%d)\n", cl, leaked[cl], total[cl],
			leaked[cl+"/event"], total[cl+"/event"], leaked[cl+"/dead_letter"], total[cl+"/dead_letter"],
			leaked[cl+"/any"], total[cl+"/any"])
	}
	t.Error(b.String())
}

// checkDisposition checks that each record became what its manifest says:
// an "event" record is no dead letter, a "dead_letter" one is exactly one.
// Otherwise the record would not attack the path it was written for.
func checkDisposition(t *testing.T, c *attackCorpus, cells []cell) {
	dead := map[int]int{}
	for _, cl := range cells {
		if cl.where == "dead_letters.id" {
			dead[cl.line]++
		}
	}
	events := map[int]bool{}
	for _, cl := range cells {
		if cl.where == "events.id" {
			events[cl.line] = true
		}
	}
	if len(events) == 0 {
		t.Fatal("no events stored at all")
	}
	for _, p := range c.plants {
		switch {
		case p.Where == "event" && dead[p.Line] > 0:
			t.Errorf("line %d (%s) was meant to be stored as an event but is a dead letter", p.Line, p.Field)
		case p.Where == "dead_letter" && dead[p.Line] != 1:
			t.Errorf("line %d (%s) was meant to be one dead letter, found %d", p.Line, p.Field, dead[p.Line])
		case len(p.Keep) > 0 && !events[p.Line]:
			t.Errorf("line %d (%s) keeps ids but stored no event", p.Line, p.Field)
		}
	}
}

// checkKept checks that each value to keep is in its events column of the
// record's row, and in the matching field of its classify output line.
func checkKept(t *testing.T, c *attackCorpus, stored, classified []cell) {
	n := 0
	for _, p := range c.plants {
		for _, k := range p.Keep {
			n++
			if !hasValue(stored, p.Line, "events."+k.Column, k.Value) {
				t.Errorf("line %d: %q not kept in events.%s (%s)", p.Line, k.Value, k.Column, p.Field)
			}
			if !hasValue(classified, p.Line, "classify."+keptColumns[k.Column], k.Value) {
				t.Errorf("line %d: %q not kept in ingest classify's %s (%s)", p.Line, k.Value, keptColumns[k.Column], p.Field)
			}
		}
	}
	if n == 0 {
		t.Fatal("the corpus keeps nothing: it could not tell redacting everything from redacting secrets")
	}
}

func hasValue(cells []cell, line int, where, value string) bool {
	for _, cl := range cells {
		if cl.line == line && cl.where == where && strings.Contains(cl.text, value) {
			return true
		}
	}
	return false
}

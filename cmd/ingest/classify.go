package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/ndjson"
)

// catalogFlags choose the provider catalogs and URL-host table.
type catalogFlags struct {
	cli.CatalogDir
	Host           map[string]string `name:"host" env:"FAULTLINE_HOSTS" help:"Extra URL host to provider mapping, host=provider (repeatable)."`
	MaxRecordBytes int               `name:"max-record-bytes" env:"MAX_RECORD_BYTES" default:"${max_record_bytes}" help:"Records larger than this are unusable (oversized)."`
	InputMap       string            `name:"input-map" env:"FAULTLINE_INPUT_MAP" type:"existingfile" help:"YAML file mapping the fields of records in a shape faultline does not recognise to the contract's (see README)."`
}

// classifier builds the classifier; maxBody bounds stored bodies (0: the
// default).
func (f *catalogFlags) classifier(maxBody int) (*classify.Classifier, error) {
	if f.MaxRecordBytes <= 0 {
		return nil, cli.Usagef("--max-record-bytes must be positive, got %d", f.MaxRecordBytes)
	}
	cats, err := f.Catalogs()
	if err != nil {
		return nil, err
	}
	var inputMap *classify.InputMap
	if f.InputMap != "" {
		data, err := os.ReadFile(f.InputMap)
		if err != nil {
			return nil, cli.Usagef("--input-map: %w", err)
		}
		if inputMap, err = classify.ParseInputMap(f.InputMap, data); err != nil {
			return nil, cli.Usagef("--input-map: %w", err)
		}
	}
	return classify.New(cats, classify.Options{Hosts: f.Host, MaxRecordBytes: f.MaxRecordBytes, MaxBodyBytes: maxBody, InputMap: inputMap})
}

type classifyCmd struct {
	catalogFlags
	Summary bool `help:"Print a per-provider summary table instead of one line per record."`
}

func (cmd *classifyCmd) Run(ctx context.Context) error {
	c, err := cmd.classifier(0)
	if err != nil {
		return err
	}
	var out io.Writer = os.Stdout
	var sum ndjson.Summary
	var visit func(*classify.Event)
	if cmd.Summary {
		visit, out = sum.Add, io.Discard
	}
	st, err := ndjson.Classify(ctx, os.Stdin, out, c, cmd.MaxRecordBytes, visit)
	if err != nil {
		return err
	}
	if cmd.Summary {
		if err := sum.WriteTable(os.Stdout); err != nil {
			return err
		}
		fmt.Printf("\n%s, %s, %d unusable\n", plural(st.Lines, "record", "records"), plural(st.Errors, "error", "errors"), st.Unusable)
	}
	return nil
}

// plural is "1 record" or "n records".
func plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

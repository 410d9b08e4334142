package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ndjson"
)

// catalogFlags choose the provider catalogs and URL-host table.
type catalogFlags struct {
	CatalogDir     string            `name:"catalog-dir" env:"FAULTLINE_CATALOG_DIR" type:"existingdir" help:"Directory of extra provider catalogs (*.yaml), loaded on top of the built-in ones."`
	Host           map[string]string `name:"host" env:"FAULTLINE_HOSTS" help:"Extra URL host to provider mapping, host=provider (repeatable)."`
	MaxRecordBytes int               `name:"max-record-bytes" default:"1048576" help:"Records larger than this are unusable (oversized)."`
}

func (f *catalogFlags) classifier() (*classify.Classifier, error) {
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		return nil, err
	}
	if f.CatalogDir != "" {
		if err := cats.AddFS(os.DirFS(f.CatalogDir)); err != nil {
			return nil, fmt.Errorf("--catalog-dir %s: %w", f.CatalogDir, err)
		}
	}
	if f.MaxRecordBytes <= 0 {
		return nil, fmt.Errorf("--max-record-bytes must be positive, got %d", f.MaxRecordBytes)
	}
	return classify.New(cats, classify.Options{Hosts: f.Host, MaxRecordBytes: f.MaxRecordBytes})
}

type classifyCmd struct {
	catalogFlags
	Summary bool `help:"Print a per-provider summary table instead of one line per record."`
}

func (cmd *classifyCmd) Run(ctx context.Context) error {
	c, err := cmd.classifier()
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
		fmt.Printf("\n%d records, %d errors, %d unusable\n", st.Lines, st.Errors, st.Unusable)
	}
	return nil
}

package cli

import (
	"os"

	"github.com/faultline-dev/faultline/classify"
)

// CatalogDir is the --catalog-dir flag: provider catalogs that add to, or
// replace, the built-in ones, read the same way by every command.
type CatalogDir struct {
	CatalogDir string `name:"catalog-dir" env:"FAULTLINE_CATALOG_DIR" type:"existingdir" help:"Directory of provider catalogs (*.yaml): new providers, or improved catalogs that replace the built-in one of the same provider."`
}

// Catalogs returns the built-in catalogs with those of --catalog-dir over
// them. A catalog that does not load is a usage error naming the flag.
func (f *CatalogDir) Catalogs() (*classify.Catalogs, error) {
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		return nil, err
	}
	if f.CatalogDir != "" {
		if err := cats.OverrideFS(os.DirFS(f.CatalogDir)); err != nil {
			return nil, Usagef("--catalog-dir %s: %w", f.CatalogDir, err)
		}
	}
	return cats, nil
}

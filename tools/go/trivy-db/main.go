// trivy-db builds an offline Trivy vulnerability database from advisory
// fixtures, the way Trivy's own integration tests do (integration/
// integration_test.go initDB, internal/dbtest): YAML fixtures loaded into
// <cache>/db/trivy.db with bolt-fixtures, metadata.json with trivy-db's schema
// version and a NextUpdate in the future, and an empty Java DB. Trivy then
// runs with --cache-dir <cache> --skip-db-update --skip-java-db-update
// --offline-scan, and its findings are exactly the advisories planted.
//
// usage: trivy-db --fixtures DIR --cache-dir DIR [--updated-at RFC3339]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	jdb "github.com/aquasecurity/trivy-java-db/pkg/db"
	// The Java DB is SQLite; trivy-java-db leaves registering the driver to its user (Trivy does the same).
	_ "modernc.org/sqlite"
)

const usage = `usage: trivy-db --fixtures DIR --cache-dir DIR [--updated-at RFC3339]

Builds DIR/db/trivy.db and DIR/db/metadata.json from every *.yaml in the
fixtures folder (Trivy's integration-test fixture format: nested buckets,
pairs of key and value), and an empty DIR/java-db. Replaces what was there:
the database holds exactly the fixtures.

  --fixtures DIR     folder of advisory fixtures (*.yaml)
  --cache-dir DIR    Trivy's --cache-dir
  --updated-at TIME  the database's UpdatedAt (default: now); NextUpdate is a day later
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "trivy-db: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprint(os.Stderr, "\n"+usage)
		}
		os.Exit(2)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(args []string) error {
	fs := flag.NewFlagSet("trivy-db", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fixtureDir := fs.String("fixtures", "", "")
	cacheDir := fs.String("cache-dir", "", "")
	updated := fs.String("updated-at", "", "")
	help := fs.Bool("help", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *help {
		fmt.Print(usage)
		return nil
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *fixtureDir == "" || *cacheDir == "" {
		return usageError{"--fixtures and --cache-dir are required"}
	}
	now := time.Now().UTC()
	if *updated != "" {
		t, err := time.Parse(time.RFC3339, *updated)
		if err != nil {
			return usageError{fmt.Sprintf("--updated-at %q is not allowed (allowed: an RFC 3339 time such as 2026-12-01T00:00:00Z)", *updated)}
		}
		now = t.UTC()
	}
	entries, err := os.ReadDir(*fixtureDir)
	if err != nil {
		return fmt.Errorf("--fixtures %s: %w", *fixtureDir, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, filepath.Join(*fixtureDir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("--fixtures %s: no *.yaml fixture files (a database without advisories would make every scan clean)", *fixtureDir)
	}

	// trivy-db's layout: <cache>/db/trivy.db and <cache>/db/metadata.json.
	dbDir := filepath.Join(*cacheDir, "db")
	if err := os.RemoveAll(dbDir); err != nil {
		return err
	}
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return err
	}
	loader, err := fixtures.New(trivydb.Path(dbDir), files)
	if err != nil {
		return fmt.Errorf("open %s: %w", trivydb.Path(dbDir), err)
	}
	if err := loader.Load(); err != nil {
		loader.Close()
		return fmt.Errorf("load fixtures from %s: %w", *fixtureDir, err)
	}
	if err := loader.Close(); err != nil {
		return err
	}
	if err := metadata.NewClient(dbDir).Update(metadata.Metadata{
		Version:      trivydb.SchemaVersion,
		NextUpdate:   now.Add(24 * time.Hour),
		UpdatedAt:    now,
		DownloadedAt: now,
	}); err != nil {
		return err
	}

	// An empty Java DB, so that --skip-java-db-update finds one (as internal/dbtest.InitJavaDB).
	javaDir := filepath.Join(*cacheDir, "java-db")
	if err := os.RemoveAll(javaDir); err != nil {
		return err
	}
	javaDB, err := jdb.New(javaDir)
	if err != nil {
		return fmt.Errorf("java db: %w", err)
	}
	if err := javaDB.Init(); err != nil {
		return fmt.Errorf("java db: %w", err)
	}
	if err := javaDB.Close(); err != nil {
		return err
	}
	javaMeta := jdb.NewMetadata(javaDir)
	if err := javaMeta.Update(jdb.Metadata{
		Version:    jdb.SchemaVersion,
		NextUpdate: now.Add(24 * time.Hour),
		UpdatedAt:  now,
	}); err != nil {
		return err
	}
	fmt.Printf("trivy-db: %d fixture file(s) -> %s (schema %d, updated %s)\n", len(files), trivydb.Path(dbDir), trivydb.SchemaVersion, now.Format(time.RFC3339))
	return nil
}

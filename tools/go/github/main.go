// pulumi-resource-github: the @pulumi/github provider plugin, built here from
// the upstream Terraform provider and the Pulumi Terraform bridge because the
// pulumi-github module itself is not served. tools/build.sh generates
// schema.json with ./schemagen from the same mapping and embeds it through
// `go build -overlay`, so the schema the engine sees is the one this mapping
// produces (no copy of pulumi-github's schema is used).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"mirror-fleet/tools/github/ghinfo"
)

// Set with -ldflags "-X main.version=6.15.0"; the bridge panics on "".
var version string

//go:embed schema.json
var schema []byte

func main() {
	if version == "" {
		panic("pulumi-resource-github: built without -X main.version")
	}
	tfbridge.Main("github", version, ghinfo.Info(version), schema)
}

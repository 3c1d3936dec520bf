// schemagen writes the Pulumi schema of ghinfo's mapping (tfgen's `schema`
// command: `schemagen schema --out DIR --skip-docs --skip-examples`).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"mirror-fleet/tools/github/ghinfo"
)

var version string

func main() {
	if version == "" {
		panic("schemagen: built without -X main.version")
	}
	tfgen.Main("github", version, ghinfo.Info(version))
}

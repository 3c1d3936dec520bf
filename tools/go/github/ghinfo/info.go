// Package ghinfo maps the upstream Terraform provider
// (integrations/terraform-provider-github) to Pulumi names the way
// @pulumi/github does, so that the Node SDK's tokens and property names
// reach the right Terraform resources and attributes, with the bridge
// options the released provider sets.
//
// The released pulumi-github v6.15.0 (provider/resources.go, built with
// pulumi-terraform-bridge v3.137.0) sets EnableZeroDefaultSchemaVersion,
// EnableAccurateBridgePreview and EnableRawStateDelta, plans every resource
// with PlanResourceChange, and applies auto-aliases from its generated
// bridge-metadata.json. The proxy serves the bridge up to v3.120.0; there:
//   - EnableZeroDefaultSchemaVersion takes effect (a state without
//     __meta upgrades from schema version 0, not the resource's current one);
//   - EnableAccurateBridgePreview and EnableRawStateDelta are deprecated
//     switches that are on by default (set here to say what is meant);
//   - PlanResourceChange is always used (shimv2.WithPlanResourceChange is a
//     no-op);
//   - the generated bridge-metadata.json is not in any served module, so no
//     auto-aliases: the one recorded decision the program's resources depend
//     on is kept by hand below (reviewers of github_repository_environment),
//     and test/engine/provider-smoke.test.ts checks every resource the
//     program uses against the released schema.
package ghinfo

import (
	"github.com/integrations/terraform-provider-github/v6/github"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// UpstreamVersion is the Terraform provider release @pulumi/github 6.15.0
// wraps; the provider sends it in its User-Agent.
const UpstreamVersion = "6.13.0"

// Info returns the provider mapping. version is the Pulumi provider version
// (the bridge refuses an empty one).
func Info(version string) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(github.NewProvider(UpstreamVersion, "")()),
		Name:        "github",
		Version:     version,
		GitHubOrg:   "integrations",
		Publisher:   "Pulumi",
		DisplayName: "GitHub",
		License:     "Apache-2.0",
		Homepage:    "https://pulumi.io",
		Repository:  "https://github.com/pulumi/pulumi-github",
		Description: "A Pulumi package for creating and managing github cloud resources.",
		Keywords:    []string{"github", "category/cloud"},
		Config: map[string]*tfbridge.SchemaInfo{
			"token":    {Secret: tfbridge.True(), Default: &tfbridge.DefaultInfo{EnvVars: []string{"GITHUB_TOKEN"}}},
			"base_url": {Default: &tfbridge.DefaultInfo{Value: "https://api.github.com/", EnvVars: []string{"GITHUB_BASE_URL"}}},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			// Changing the repositories an organisation secret is visible to
			// replaces it in @pulumi/github.
			"github_actions_organization_secret": {Fields: map[string]*tfbridge.SchemaInfo{
				"selected_repository_ids": {ForceNew: tfbridge.True()},
			}},
			"github_dependabot_organization_secret": {Fields: map[string]*tfbridge.SchemaInfo{
				"selected_repository_ids": {ForceNew: tfbridge.True()},
			}},
			"github_codespaces_organization_secret": {Fields: map[string]*tfbridge.SchemaInfo{
				"selected_repository_ids": {ForceNew: tfbridge.True()},
			}},
			// Replaced by deleting first, as pulumi-github's resources.go says:
			// the name (or key) is unique, so the new one cannot exist beside the old.
			"github_actions_environment_secret":    {DeleteBeforeReplace: true},
			"github_repository_collaborator":       {DeleteBeforeReplace: true},
			"github_repository_deploy_key":         {DeleteBeforeReplace: true},
			"github_repository_autolink_reference": {DeleteBeforeReplace: true},
			// Upstream made reviewers a single block (MaxItems 1) after
			// @pulumi/github had shipped it as a list; pulumi-github keeps the
			// list (its bridge metadata records the old decision).
			"github_repository_environment": {Fields: map[string]*tfbridge.SchemaInfo{
				"reviewers": {MaxItemsOne: tfbridge.False()},
			}},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			// The automatic token would be getApp.
			"github_app": {Tok: "github:index/getGithubApp:getGithubApp"},
		},
		JavaScript: &tfbridge.JavaScriptInfo{},
		// As pulumi-github v6.15.0's provider/resources.go (see the package comment).
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
		EnableRawStateDelta:            true,
	}
	info.MustComputeTokens(tokens.SingleModule("github_", "index", tokens.MakeStandard("github")))
	// A resource's `name` is optional and auto-named from the Pulumi resource
	// name, as in @pulumi/github (IssueLabel's name, for example).
	info.SetAutonaming(255, "-")
	return info
}

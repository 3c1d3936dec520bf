# The versions of the real tools the tests run; one line each. A test keeps
# them equal to the versions the code uses (package.json, components/pins.ts).
PULUMI_VERSION=3.276.0
# Node.js for the tests (tools/node.sh); its major is the minimum of package.json engines.
NODE_VERSION=22.23.5
# @pulumi/github in package-lock.json; built from terraform-provider-github v6.13.0 (tools/go/github/go.mod).
GITHUB_PROVIDER_VERSION=6.15.0
TRIVY_VERSION=0.74.0
ACTIONLINT_VERSION=1.7.12
ZIZMOR_VERSION=1.32.0
COSIGN_VERSION=2.6.5
# The cosign the workflow installs to verify Trivy's release (COSIGN_RELEASE in components/workflow/trivy.ts).
COSIGN_V3_VERSION=3.0.6
KUSTOMIZE_VERSION=5.8.0
KYVERNO_VERSION=1.19.1
# The Node.js the mirror workflow's setup-node asks for (policy nodeVersion, a
# major), for the e2e's setup-node stand-in; installed by tools/node.sh.
MIRROR_NODE_VERSION=24.22.3
# The Actions engine the e2e runs the rendered mirror workflow with.
ACT_VERSION=0.2.89
# BuildKit (buildkitd, buildctl) and the buildx CLI plugin: the workflow's own build command.
BUILDKIT_VERSION=0.34.2
BUILDX_VERSION=0.38.2
# The S3 emulator the fleet workflow's e2e keeps Pulumi's state in (an s3:// backend, as the workflow requires).
MOTO_VERSION=5.2.6
ALL_TOOLS=(pulumi language_host github trivy trivy_db actionlint zizmor cosign kustomize kyverno act buildkit buildx cosign_v3 mirror_node moto)

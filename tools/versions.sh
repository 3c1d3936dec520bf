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
KUSTOMIZE_VERSION=5.8.0
KYVERNO_VERSION=1.19.1
ALL_TOOLS=(pulumi language_host github trivy trivy_db actionlint zizmor cosign kustomize kyverno)

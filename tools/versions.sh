# The versions of the real tools the tests run; one line each. A test keeps
# them equal to the versions the code uses (package.json, components/pins.ts).
PULUMI_VERSION=3.276.0
TRIVY_VERSION=0.74.0
ACTIONLINT_VERSION=1.7.12
ZIZMOR_VERSION=1.32.0
ALL_TOOLS=(pulumi trivy trivy_db actionlint zizmor)

# Gokapi on distroless: hardened override for Forceu/Gokapi.
# The builder and runtime images are pinned by digest (infra/base-images.ts).
#
# Why the module-path patch: Gokapi's go.mod says `module github.com/forceu/gokapi`
# while its release tags are v2.x. Go's rule is that a v2+ module path ends in
# /v2; without it, the version Go stamps into the binary is a pseudo-version,
# and scanners then match every old CVE ever filed against the module. The
# build stage rewrites the module path and its imports to /v2, commits that,
# and moves the release tag onto the commit, so the binary carries the real
# version. The build context must include .git (the pipeline's clone does).

FROM golang:1.26.2-alpine@sha256:f85330846cde1e57ca9ec309382da3b8e6ae3ab943d2739500e08c86393a21b1 AS build
ARG VERSION
RUN apk add --no-cache git
WORKDIR /src
COPY . .
RUN set -eu; \
    go mod edit -module github.com/forceu/gokapi/v2; \
    grep -rlF --include='*.go' '"github.com/forceu/gokapi/' . \
      | xargs sed -i 's#"github.com/forceu/gokapi/#"github.com/forceu/gokapi/v2/#g'; \
    git -c user.name=mirror-fleet -c user.email=mirror-fleet@localhost \
      commit -q -a -m "mirror-fleet: module path github.com/forceu/gokapi/v2 for ${VERSION}"; \
    git tag -f "${VERSION}"
RUN go generate ./... && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X 'github.com/forceu/gokapi/v2/internal/environment.IsDocker=true' -X 'github.com/forceu/gokapi/v2/internal/environment.Builder=mirror-fleet'" \
      -o /out/app/gokapi ./cmd/gokapi && \
    mkdir -p /out/app/data /out/app/config

FROM gcr.io/distroless/static:nonroot@sha256:e3f945647ffb95b5839c07038d64f9811adf17308b9121d8a2b87b6a22a80a39
ARG VERSION
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="AGPL-3.0-only"
# distroless has no shell to chown at start-up, so the volumes are created
# owned by the nonroot user (65532) in the build stage.
COPY --from=build --chown=65532:65532 /out/app /app
WORKDIR /app
VOLUME ["/app/data", "/app/config"]
USER 65532:65532
EXPOSE 53842
ENTRYPOINT ["/app/gokapi"]

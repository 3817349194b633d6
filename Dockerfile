# syntax=docker/dockerfile:1
#
# scim-bridge container image: one static binary on distroless, non-root.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     -t ghcr.io/scim-bridge/scim-bridge:VERSION .
#
# Run: docker run -p 8080:8080 -p 9464:9464 -v scim-bridge:/var/lib/scim-bridge \
#        -e SCIM_BRIDGE_... ghcr.io/scim-bridge/scim-bridge:VERSION   (CMD is "serve")
# The SQLite default ("sqlite:scim-bridge.db", relative to the working
# directory) lands in /var/lib/scim-bridge, the declared volume. The image sets
# no SCIM_BRIDGE_* variable on purpose: environment variables override the
# configuration file, so an image default would silently win over the operator's
# file.

# Build stage: runs on the builder's own platform and cross-compiles for the
# target (no emulation). The Go version matches the go directive in go.mod;
# deploy/deploy_test.go fails when they drift apart.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
# CGO_ENABLED=0: the SQLite driver (modernc.org/sqlite) is pure Go, so the
# binary is fully static and runs on distroless/static.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/scim-bridge ./cmd/scim-bridge
# distroless has no shell to create the data directory at run time, so it is
# made here and copied with the non-root owner.
RUN mkdir -p /out/data

# Runtime stage: gcr.io/distroless/static-debian12:nonroot pinned by digest so a
# rebuild of the same commit gets the same base. This digest was NOT read from
# the registry on the machine that wrote this file (no registry access there):
# it is the one public Dockerfiles give for the :nonroot tag as of 2026-08-26
# (the previous one, sha256:f5b485ea962d9bd1186b2f6b3a061191539b905b82ec395de78cbfae51f20e35,
# was Renovate's update of 2026-08-03). Check it, and refresh it, with:
#   crane digest gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="scim-bridge" \
      org.opencontainers.image.description="SCIM 2.0 bridge from Okta / Entra ID to BigCommerce control-panel users, within the 70 requests/hour budget" \
      org.opencontainers.image.source="https://github.com/scim-bridge/scim-bridge" \
      org.opencontainers.image.url="https://github.com/scim-bridge/scim-bridge" \
      org.opencontainers.image.documentation="https://github.com/scim-bridge/scim-bridge/blob/main/deploy/README.md" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/scim-bridge /scim-bridge
COPY --from=build --chown=65532:65532 /out/data /var/lib/scim-bridge
# 65532 is distroless's "nonroot" user; numeric so that Kubernetes'
# runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
WORKDIR /var/lib/scim-bridge
# SQLite mode keeps its database here (database: sqlite:/var/lib/scim-bridge/bridge.db).
VOLUME ["/var/lib/scim-bridge"]
# 8080: SCIM (/scim/v2). 9464: telemetry (/metrics, /healthz, /readyz, /status).
EXPOSE 8080 9464
# No shell and no templating entrypoint: the binary is PID 1 and receives
# SIGTERM directly (graceful shutdown within 15 s).
# The image has no shell or curl: the binary probes its own /readyz (override
# --url for the simulator, which has no telemetry listener).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/scim-bridge", "healthcheck"]
ENTRYPOINT ["/scim-bridge"]
CMD ["serve"]

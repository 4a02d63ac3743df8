# syntax=docker/dockerfile:1
# For people who build with Docker (BuildKit). The path this project builds, tests and measures
# is `make images` (hack/images: no Docker daemon, no base image, reproducible digests); this
# file is not exercised by our tests or CI. It builds the same binaries the same way onto
# distroless static (nonroot, 65532:65532, CA certificates, /tmp), so the result runs the same,
# but its digests are not reproducible across base image updates.
#
#   docker build --target operator --build-arg VERSION=$(git describe --tags --always --dirty) -t ghcr.io/slotbook/operator:dev .
#   docker build --target app      --build-arg VERSION=$(git describe --tags --always --dirty) -t ghcr.io/slotbook/app:dev .

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/manager ./cmd/manager && \
    go build -trimpath -tags timetzdata -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/slotbook ./app

FROM gcr.io/distroless/static-debian12:nonroot AS operator
ARG VERSION=dev
LABEL org.opencontainers.image.title="slotbook-operator" \
      org.opencontainers.image.source="https://github.com/slotbook/slotbook" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/manager /usr/local/bin/manager
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/manager"]

FROM gcr.io/distroless/static-debian12:nonroot AS app
ARG VERSION=dev
LABEL org.opencontainers.image.title="slotbook" \
      org.opencontainers.image.source="https://github.com/slotbook/slotbook" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/slotbook /usr/local/bin/slotbook
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/slotbook"]
CMD ["serve"]

# The Go builder image that scripts/build-image makes where no registry can
# be reached (golang:* cannot be pulled): the local Debian base, the host's
# Go toolchain (the build context: `go env GOROOT`) and CA
# certificates for the Go module proxy. Elsewhere the Dockerfiles use the
# official golang image (GO_IMAGE).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

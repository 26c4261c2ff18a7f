# The Go builder image that scripts/build-image makes where no registry can
# be reached (golang:* cannot be pulled): the local Debian base, the host's
# Go toolchain (`go env GOROOT`) and the host's CA bundle (the builder
# stages fetch modules from `go env GOPROXY`, through whatever TLS the host
# trusts). Elsewhere the Dockerfiles use the official golang image
# (GO_IMAGE). The build context is a folder scripts/build-image fills.
ARG BASE
FROM ${BASE}
COPY go /usr/local/go
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

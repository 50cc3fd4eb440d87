# syntax=docker/dockerfile:1
# Build: a static binary (no cgo), version stamped in.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/glint-github-app ./cmd/glint-github-app

# Run: distroless static has CA certificates and a non-root user, and nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/glint-github-app /usr/local/bin/glint-github-app
USER nonroot:nonroot
# GLINT names the listen port (default 8080), as in `docker run -e GLINT=8080 -p 8080:8080`.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/glint-github-app"]
CMD ["serve"]

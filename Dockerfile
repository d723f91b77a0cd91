# Builds the chancery binary into a small image for compose.yaml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /chancery ./cmd/chancery && mkdir /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /chancery /chancery
# The data directory belongs to the image's user (nonroot, 65532), so that a
# new named volume mounted there, which takes the directory's owner, is
# writable by the service.
COPY --from=build --chown=65532:65532 /data /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/chancery"]
CMD ["serve", "--data", "/data", "--http", "0.0.0.0:8080"]

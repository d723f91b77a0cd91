# Builds the chancery binary into a small image for compose.yaml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /chancery ./cmd/chancery

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /chancery /chancery
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/chancery"]
CMD ["serve", "--data", "/data", "--http", "0.0.0.0:8080"]

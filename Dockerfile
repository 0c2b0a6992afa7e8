# syntax=docker/dockerfile:1
# llmload as a container image: the single binary on a minimal glibc base, run as a non-root user.
#   docker build -t llmload .
#   docker run --rm llmload -H http://host.docker.internal:8000 -u 8 -t 1min

ARG DENO_VERSION=2.9.6

# The build stage runs on the builder's own platform and cross-compiles with
# deno compile --target, so a multi-arch build (linux/amd64, linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM denoland/deno:${DENO_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY cli/ cli/
COPY common/ common/
COPY history/ history/
COPY load/ load/
COPY mock/ mock/
COPY options/ options/
COPY output/ output/
COPY providers/ providers/
COPY request/ request/
COPY run/ run/
COPY server_metrics/ server_metrics/
COPY stats/ stats/
COPY transport/ transport/
COPY tools/compile.ts tools/
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "Cannot build llmload for $TARGETARCH: expected amd64 or arm64" >&2; exit 1 ;; \
    esac \
    && deno task compile --target "$target" --output dist/llmload

# distroless/cc: glibc and libgcc, which deno compile binaries need, and nothing else (no shell).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/llmload /usr/local/bin/llmload
# The distroless "nonroot" user, by number so that runAsNonRoot policies can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/llmload"]

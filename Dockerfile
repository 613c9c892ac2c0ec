# batch-tokenize in a container: built on the official Swift image, the Swift runtime linked in
# statically, run from a slim image as a user without privileges.
#
#   docker build -t batch-tokenize:0.6.0 .
#   docker run --rm -e SCX_API_KEY -v "$PWD:/data" batch-tokenize:0.6.0 run --endpoint local ...

FROM swift:6.3-noble AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Benchmarks ./Benchmarks
COPY Tests ./Tests
RUN swift build -c release --product batch-tokenize --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/batch-tokenize" /out/batch-tokenize

FROM ubuntu:24.04 AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 batch \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin batch
COPY --from=build /out/batch-tokenize /usr/local/bin/batch-tokenize
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/batch-tokenize"]
CMD ["--help"]

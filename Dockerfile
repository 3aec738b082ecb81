# seaweed-rdma-mount and seaweed-rdma-agent from Debian packages: the build stage compiles with
# Debian 12's libraries and makes the .deb (cpack), the runtime stage installs that .deb with apt,
# which brings exactly the libraries it declares. docker-compose.yml runs a whole cluster with it.
#   docker build -t seaweed-rdma-mount:local .
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config dpkg-dev file ca-certificates \
      libfuse3-dev libucx-dev libibverbs-dev librdmacm-dev \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      libcurl4-openssl-dev libspdlog-dev libfmt-dev libssl-dev zlib1g-dev \
      nlohmann-json3-dev libcivetweb-dev libtomlplusplus-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cpack -G DEB --config /build/CPackConfig.cmake -B /out

FROM debian:12
COPY --from=build /out/seaweed-rdma-mount_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/seaweed-rdma-mount_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/seaweed-rdma-mount_*.deb
# The mount stays in the foreground (the container's main process); SIGTERM unmounts it.
STOPSIGNAL SIGTERM
CMD ["seaweed-rdma-mount", "-h"]

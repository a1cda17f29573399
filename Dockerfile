# edgeswarm-seed (the Node supernode) as a container, built from the published package. The
# Dockerfile ships in the package, so any folder with it works as the build context:
#   docker build -t edgeswarm-seed node_modules/edgeswarm     (or `.` in this repository)
#   docker run -v seed-store:/store edgeswarm-seed --edge https://cdn.example --pin /c/media/intro.mp4
# From a local tarball instead (`npm pack` first): docker build --build-arg PACKAGE=./edgeswarm-0.1.0.tgz .
FROM node:20-bookworm-slim
ARG PACKAGE=edgeswarm
WORKDIR /opt/edgeswarm
COPY . /tmp/context
# node-datachannel ships prebuilt libdatachannel binaries for linux-x64/arm64 glibc in its registry
# package; ws is its WebSocket. Both are optional peers of edgeswarm, required here.
RUN cd /tmp/context && PKG="$PACKAGE" && case "$PKG" in ./*) PKG="/tmp/context/${PKG#./}";; esac \
 && cd /opt/edgeswarm && npm init -y >/dev/null \
 && npm install --omit=dev --no-audit --no-fund "$PKG" node-datachannel@^0.33.4 ws@^8.23.0 \
 && rm -rf /tmp/context /root/.npm
ENV NODE_ENV=production
RUN mkdir -p /store && chown node:node /store
VOLUME /store
USER node
ENTRYPOINT ["/opt/edgeswarm/node_modules/.bin/edgeswarm-seed", "--store", "/store"]
CMD ["--help"]

# mta-sts-bridge in a container: the package built here, run as a non-root user.
#   docker build -t mta-sts-bridge .
#   docker run -d -p 127.0.0.1:8461:8461 -v mta-sts-state:/var/lib/mta-sts-bridge mta-sts-bridge
# The HEALTHCHECK asks /healthz of the metrics listener (metrics: {address: 127.0.0.1:9464} in
# the shipped config); a config of your own needs that key too for the check to pass.

FROM node:22-bookworm-slim AS build
WORKDIR /src
# Compilers for the native addons (better-sqlite3, unix-dgram) when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm pack --pack-destination /tmp \
 && npm install -g --prefix /opt/mta-sts-bridge --no-audit --no-fund --allow-scripts=better-sqlite3,unix-dgram /tmp/mta-sts-bridge-*.tgz

FROM node:22-bookworm-slim
# jemalloc gives back the memory a burst of policy fetches used, where glibc's malloc keeps it
# (about half the RSS per cached policy: docs/operations.md, "Memory settings"). The launcher
# (the ENTRYPOINT, bin/mta-sts-bridge.js) preloads it, with its MALLOC_CONF, once installed.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/mta-sts-bridge /opt/mta-sts-bridge
COPY conf-examples/docker/mta-sts-bridge.yml /etc/mta-sts-bridge.yml
RUN groupadd --system mta-sts-bridge \
 && useradd --system --gid mta-sts-bridge --home-dir /var/lib/mta-sts-bridge --shell /usr/sbin/nologin mta-sts-bridge \
 && mkdir -p /var/lib/mta-sts-bridge \
 && chown mta-sts-bridge:mta-sts-bridge /var/lib/mta-sts-bridge \
 && chmod 0700 /var/lib/mta-sts-bridge
ENV PATH=/opt/mta-sts-bridge/bin:$PATH \
    STATE_DIRECTORY=/var/lib/mta-sts-bridge \
    NODE_ENV=production
USER mta-sts-bridge
VOLUME ["/var/lib/mta-sts-bridge"]
EXPOSE 8461
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:9464/healthz', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["mta-sts-bridge"]
CMD ["serve", "-c", "/etc/mta-sts-bridge.yml"]

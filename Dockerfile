# Build stage: every dependency (dev ones included) to build the dashboard (web/ → web/dist).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci runs the postinstall script (the synchronous jsonata build), here as in the runtime stage.
COPY scripts/generate-sync-jsonata.ts scripts/
RUN npm ci --no-audit --no-fund
COPY . .
RUN node scripts/build-dashboard.mjs --force

# Runtime: production dependencies only, and the built dashboard from the build stage.
FROM node:20-bookworm-slim
WORKDIR /app
# NODE_ENV=production: no introspection, no GraphQL explorer, TRELLIS_SECRET_KEY required.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    TRELLIS_DATA_DIR=/data

# Dependencies first, so code changes reuse this layer (.dockerignore keeps node_modules out).
COPY package.json package-lock.json ./
# npm ci runs the postinstall script, which generates the synchronous jsonata build with this.
COPY scripts/generate-sync-jsonata.ts scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
# Same sources and lock as the build stage, so the dashboard build is current (no Vite here).
COPY --from=build /app/web/dist ./web/dist

# The code stays root's and read-only to Trellis. Trellis writes only to TRELLIS_DATA_DIR, and
# only when something runs embedded (no DATABASE_URL, no TEMPORAL_ADDRESS or no
# TRELLIS_SECRET_KEY); against external PostgreSQL and Temporal with the key set it writes
# nothing but its compile cache in /tmp (tsx), so the root filesystem may be read-only with a
# writable /tmp.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
VOLUME /data

# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 4000
# /health for a process with an API, the metrics listener for a worker (scripts/healthcheck.mjs).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 CMD ["node", "scripts/healthcheck.mjs"]
# Node itself as PID 1 (no npm, no tsx CLI in between): SIGTERM reaches Trellis, which drains.
CMD ["node", "--import", "tsx", "src/main.ts"]

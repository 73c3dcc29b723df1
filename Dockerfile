# Build stage: every dependency (dev ones included) to build the dashboard (web/ → web/dist).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node scripts/build-dashboard.mjs --force

# Runtime: production dependencies only, and the built dashboard from the build stage.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so code changes reuse this layer (.dockerignore keeps node_modules out).
COPY package.json package-lock.json ./
# npm ci runs the postinstall script, which generates the synchronous jsonata build with this.
COPY scripts/generate-sync-jsonata.ts scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .
# Same sources and lock as the build stage, so `npm start` finds this build current (no Vite here).
COPY --from=build /app/web/dist ./web/dist

USER node
EXPOSE 4000
CMD ["npm", "start"]

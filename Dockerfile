# One image for every role: start | serve | work | migrate | rebuild | verify.
# Build:  docker build -t runledger .
# Run:    docker run -e DATABASE_URL=postgres://… runledger serve
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY sql ./sql
USER node
# Containers bind to all interfaces; the app refuses that without RUNLEDGER_TOKEN.
ENV HOST=0.0.0.0 PORT=3000 WS_PORT=3001
EXPOSE 3000 3001
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["start"]

# syntax=docker/dockerfile:1
# The fuze-workers image: "build" compiles TypeScript with the dev toolchain; "runtime" holds only production
# dependencies and dist/, runs as uid 1000 under tini (PID 1: forwards SIGTERM, reaps zombies), probes /healthz.
# test/integration/deploy-docker-steps.test.ts runs these steps without a Docker engine: keep its RUN forms.
# A glibc image: the build stage's npm scripts run the `node` devDependency's glibc binary (Alpine cannot).
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# full install: the build needs typescript (and the `node` devDependency that pins Node 24 for npm scripts)
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; none of them needs an install script
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# numeric, so Kubernetes' runAsNonRoot can verify it (the image's `node` user); files stay root-owned, read-only
USER 1000:1000
# admin HTTP: /healthz, /readyz, /metrics (PORT)
EXPOSE 8099
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8099}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]

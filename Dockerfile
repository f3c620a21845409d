# odtp-db: the CLI (entrypoint) and the admin API (default command) for deploy pipelines and compose files.
# The steps are the ones `npm run test:install` (tools/install-test.sh) runs in CI without a container engine:
# npm pack builds the package; the runtime stage installs it with the lockfile and production dependencies only.
#   docker build -t odtp-db .
#   docker run --rm -e MONGODB_URI=mongodb://mongo:27017/odtp odtp-db migrate up --wait 120

FROM node:20.20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# prepack runs the build (dist/): the tarball holds bin/, dist/, the migration sources (checksums) and docs
RUN npm pack --pack-destination /pkg

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build /pkg/ /tmp/pkg/
COPY package-lock.json /tmp/pkg/
RUN tar xzf /tmp/pkg/odtp-db-*.tgz -C /app --strip-components=1 \
 && cp /tmp/pkg/package-lock.json /app/ \
 && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /tmp/pkg \
 && ln -s /app/bin/odtp-db.js /usr/local/bin/odtp-db \
 && chown node:node /app
# the unprivileged user of the node image; /app is writable for the development key and the cursor secret
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["odtp-db"]
CMD ["serve"]

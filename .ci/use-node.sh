# Sourced by .ci/run (and by test/unit/require-node.test.ts): puts .nvmrc's Node first on PATH.
# The Dockerfiles pin the same version. The machines ship an older Node; when it is older than the major in
# .nvmrc, this installs that exact version from the npm registry's `node` package (the binary lands in
# PREFIX/node_modules/.bin/node; a prefix that already holds it is reused) and puts it first on PATH.
# Everything after runs on it: npm itself (/usr/bin/npm starts with `#!/usr/bin/env node`), npm ci, the
# build, vitest, and the emulator's local Lambdas (MiniStack runs `node` from PATH).
NODE_VERSION="$(tr -d '[:space:]' < .nvmrc)"
NODE_MAJOR="${NODE_VERSION%%.*}"
current_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$current_major" -lt "$NODE_MAJOR" ]; then
  NODE_PREFIX="${RINGMASTER_NODE_PREFIX:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ringmaster/node-$NODE_VERSION}"
  if [ "$("$NODE_PREFIX/node_modules/.bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --no-save "node@$NODE_VERSION"
  fi
  export PATH="$NODE_PREFIX/node_modules/.bin:$PATH"
fi

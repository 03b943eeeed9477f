#!/bin/sh
# The whole suite against a packed tarball: sh scripts/test-tarball.sh daemonkit-X.tgz
#
# Run in a checkout of the commit the tarball was packed from, after `npm ci --ignore-scripts`
# (the test tools, no addon built, nothing compiled). The tarball's dist/ and prebuilds/
# replace the checkout's, and native/build/ goes, so every test loads the shipped JavaScript and
# the shipped addon (src/native/binding.ts falls back to prebuilds/ when there is no native/build/).
# The release workflow runs this on each platform; test-results.json is vitest's report.
set -eu
tarball=${1:?usage: sh scripts/test-tarball.sh daemonkit-X.tgz}
[ -f "$tarball" ] || { echo "test-tarball: no such file: $tarball" >&2; exit 2; }
[ -d node_modules/vitest ] || { echo "test-tarball: run npm ci --ignore-scripts first" >&2; exit 2; }
# Unpacked beside the checkout first: a tarball that does not unpack leaves the checkout as it was.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "$tarball" -C "$unpacked" package/dist package/prebuilds
rm -rf native/build dist prebuilds
mv "$unpacked/package/dist" "$unpacked/package/prebuilds" .
echo "testing $(tar -xzOf "$tarball" package/package.json | node -p 'const p = JSON.parse(require("fs").readFileSync(0, "utf8")); p.name + "@" + p.version'): $(find prebuilds -name '*.node' | sort | tr '\n' ' ')"
node node_modules/vitest/vitest.mjs run

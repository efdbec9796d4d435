// Bundles the CLI into one file so that start-up stays close to bare Node:
// store-only commands (env, config, url, ls -q) must cost little more than `node -e 0`.
// CommonJS output because Node's ESM loader alone adds ~8 ms at start-up (measured);
// the sources stay ESM TypeScript. Heavy modules stay external and are loaded lazily
// by the code paths that need them.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
} catch {
  // not a git checkout: the version line says "unknown"
}

const external = ["ssh2", "node-forge", "execa", "proper-lockfile", "write-file-atomic", "cpu-features"];

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/tsm.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external,
  banner: { js: "#!/usr/bin/env node" },
  define: {
    TSM_VERSION: JSON.stringify(pkg.version),
    TSM_COMMIT: JSON.stringify(commit),
  },
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
});
chmodSync("dist/tsm.cjs", 0o755);

await build({
  entryPoints: ["bench/run.ts"],
  outfile: "dist/bench.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  logLevel: "warning",
});

// Bundles the CLI into one file (dist/tsm-main.cjs, run by the loader dist/tsm.cjs) so that start-up stays close to bare Node:
// store-only commands (env, config, url, ls -q) must cost little more than `node -e 0`.
// CommonJS output because Node's ESM loader alone adds ~8 ms at start-up (measured);
// the sources stay ESM TypeScript. Heavy modules stay external and are loaded lazily
// by the code paths that need them.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, rmSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
} catch {
  // not a git checkout: the version line says "unknown"
}

/**
 * commander loads node:child_process at start-up for executable subcommands,
 * which tsm does not use; that costs ~8 ms on every run. Hand commander a
 * stand-in that loads the real module only if it is ever touched.
 */
const lazyChildProcessForCommander = {
  name: "lazy-child-process-for-commander",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/commander/`) ? { path: "lazy-child-process", namespace: "tsm-lazy" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "tsm-lazy" }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_t, k) => require('node:child_process')[k] });",
      loader: "js",
    }));
  },
};

// TSM_DIST builds elsewhere (relative to the checkout), so parallel test runs do not
// delete each other's bundle; the default is dist/.
const out = process.env.TSM_DIST || "dist";
rmSync(out, { recursive: true, force: true });

// Heavy modules stay out of the start-up bundle: the CommonJS ones are
// required from node_modules when first needed; execa, which is ESM-only, is
// bundled on its own as CommonJS (dist/vendor-execa.cjs). No real import() may
// remain in the output (see `supported` below).
const external = ["ssh2", "cpu-features", "node-forge", "write-file-atomic"];
const execaAsVendorFile = {
  name: "execa-as-vendor-file",
  setup(b) {
    b.onResolve({ filter: /^execa$/ }, () => ({ path: "./vendor-execa.cjs", external: true }));
  },
};

/**
 * The VM drivers' machine operations (drivers/<name>/driver.ts, with the image cache, seeds
 * and first-boot code they pull in) are bundled on their own, as dist/driver-<name>.cjs,
 * loaded by the driver's `open`: they are a quarter of the code and no store-only command
 * needs them, so the start-up bundle stays small. Both bundles must share one
 * src/model/errors.ts (exit codes and `instanceof` checks cross the boundary): the start-up
 * bundle registers its module (src/cli/main.ts) and the driver bundles use that one.
 */
const VM_DRIVERS = ["qemu", "virtualbox"];
const vmDriversAsFiles = {
  name: "vm-drivers-as-files",
  setup(b) {
    b.onResolve({ filter: /^\.\/driver\.js$/ }, (args) => {
      const m = /drivers[\\/](qemu|virtualbox)[\\/]index\.ts$/.exec(args.importer);
      return m ? { path: `./driver-${m[1]}.cjs`, external: true } : undefined;
    });
  },
};
const sharedModelErrors = {
  name: "shared-model-errors",
  setup(b) {
    b.onResolve({ filter: /[\\/]model[\\/]errors\.js$/ }, () => ({ path: "core-errors", namespace: "tsm-shared" }));
    b.onLoad({ filter: /.*/, namespace: "tsm-shared" }, () => ({
      contents:
        'const m = globalThis[Symbol.for("tsm.model.errors")];\n' +
        'if (!m) throw new Error("tsm: this driver bundle must be loaded by tsm-main.cjs");\n' +
        "module.exports = m;",
      loader: "js",
    }));
  },
};

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: `${out}/tsm-main.cjs`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external,
  plugins: [lazyChildProcessForCommander, execaAsVendorFile, vmDriversAsFiles],
  // import() becomes a lazy require(): Node 20 cannot run import() from a
  // script restored from V8's code cache (the loader's whole point).
  supported: { "dynamic-import": false },
  define: {
    TSM_VERSION: JSON.stringify(pkg.version),
    TSM_COMMIT: JSON.stringify(commit),
  },
  // Smaller code parses faster at every start-up (V8 compiles the whole file before running it).
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
for (const name of VM_DRIVERS) {
  await build({
    entryPoints: [`drivers/${name}/driver.ts`],
    outfile: `${out}/driver-${name}.cjs`,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external,
    plugins: [execaAsVendorFile, sharedModelErrors],
    supported: { "dynamic-import": false },
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
}

// dist/tsm.cjs is the command: a small loader that runs the bundle through V8's code cache.
copyFileSync("scripts/loader.cjs", `${out}/tsm.cjs`);
chmodSync(`${out}/tsm.cjs`, 0o755);

await build({
  stdin: { contents: 'export * from "execa";', resolveDir: ".", loader: "js" },
  outfile: `${out}/vendor-execa.cjs`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});

await build({
  entryPoints: ["bench/run.ts"],
  outfile: `${out}/bench.mjs`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  logLevel: "warning",
});

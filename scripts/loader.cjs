#!/usr/bin/env node
// The `tsm` command. Runs the bundle (tsm-main.cjs) through V8's code cache:
// compiling the bundle is the largest single start-up cost, and `tsm env` must
// stay close to bare Node. Node 22's module.enableCompileCache() does the same;
// Node 20 needs it done by hand. The cache is only an accelerator: when it is
// missing, stale (V8 rejects it) or cannot be written, the bundle just compiles.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const Module = require("node:module");

// The bundle contains no import() (the build turns them into require()), so a
// script restored from the cache needs no dynamic-import callback.
const main = path.join(__dirname, "tsm-main.cjs");
{
  const source = fs.readFileSync(main, "utf8");
  const stat = fs.statSync(main);
  const key = `${stat.size}-${Math.floor(stat.mtimeMs)}-${process.version}`;
  const candidates = [path.join(__dirname, ".cache"), path.join(require("node:os").tmpdir(), `tsm-code-cache-${process.getuid ? process.getuid() : "user"}`)];
  // V8 does not treat cached data as untrusted input: use only a directory that
  // is ours alone (owned by this user, no group or other write access).
  const ours = (dir) => {
    try {
      const st = fs.lstatSync(dir);
      return st.isDirectory() && (!process.getuid || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
    } catch {
      return false;
    }
  };
  let cached;
  for (const dir of candidates) {
    if (!ours(dir)) continue;
    try {
      cached = fs.readFileSync(path.join(dir, `${key}.bin`));
      break;
    } catch {
      // not there: try the next place
    }
  }
  const script = new vm.Script(Module.wrap(source), { filename: main, cachedData: cached });
  const m = new Module(main, module);
  m.filename = main;
  m.paths = Module._nodeModulePaths(__dirname);
  const req = (id) => m.require(id);
  req.resolve = (id) => Module._resolveFilename(id, m);
  script.runInThisContext().call(m.exports, m.exports, req, m, main, __dirname);
  if (cached === undefined || script.cachedDataRejected) {
    process.once("exit", () => {
      const data = script.createCachedData();
      for (const dir of candidates) {
        try {
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          if (!ours(dir)) continue;
          const tmp = path.join(dir, `${key}.${process.pid}.tmp`);
          fs.writeFileSync(tmp, data, { mode: 0o600 });
          fs.renameSync(tmp, path.join(dir, `${key}.bin`));
          break;
        } catch {
          // not writable here (e.g. a global install): try the next place
        }
      }
    });
  }
}

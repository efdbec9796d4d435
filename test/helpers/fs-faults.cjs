/*
 * A preload (node --require) that injects file-system faults into the built tsm at
 * exact points, so CLI tests can reproduce a crash, a stall or a full disk
 * deterministically instead of by timing. Configured by TSM_TEST_FS_FAULTS, a JSON
 * list of rules (see fs-faults.ts for their meaning):
 *
 *   { op: "rename" | "unlink" | "write", name: "<regexp on the basename>",
 *     when?: "before" | "after", nth?: 1,
 *     signal?: "SIGKILL" | "SIGTERM", enospc?: true, holdUntil?: "<file>", touch?: "<file>" }
 *
 * "rename" matches the destination's basename, "unlink" the removed file's, "write" the
 * basename of the file a descriptor was opened on. Only the public fs functions are
 * wrapped (esbuild's bundle and write-file-atomic call them through the module object).
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const rules = JSON.parse(process.env.TSM_TEST_FS_FAULTS || "[]").map((r) => ({ ...r, re: new RegExp(r.name), seen: 0 }));
const orig = {
  renameSync: fs.renameSync,
  rename: fs.rename,
  promisesRename: fs.promises.rename,
  unlinkSync: fs.unlinkSync,
  openSync: fs.openSync,
  open: fs.open,
  writeSync: fs.writeSync,
  write: fs.write,
  writeFileSync: fs.writeFileSync,
  existsSync: fs.existsSync,
};

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs the rules for one operation; returns an error to fail it with, if a rule says so. */
function fire(op, file, when) {
  const base = path.basename(String(file));
  for (const rule of rules) {
    if (rule.op !== op || (rule.when ?? "before") !== when || !rule.re.test(base)) continue;
    rule.seen++;
    if (rule.seen !== (rule.nth ?? 1)) continue;
    if (rule.touch) orig.writeFileSync(rule.touch, `${process.pid} ${op} ${file}\n`);
    if (rule.signal) {
      process.kill(process.pid, rule.signal);
      sleep(30_000); // a signal without a handler ends the process before this returns
    }
    if (rule.holdUntil) {
      const limit = Date.now() + 30_000;
      while (!orig.existsSync(rule.holdUntil) && Date.now() < limit) sleep(20);
    }
    if (rule.enospc) {
      return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
    }
  }
  return undefined;
}

function keepSymbols(wrapper, original) {
  for (const s of Object.getOwnPropertySymbols(original)) wrapper[s] = original[s];
  return wrapper;
}

fs.renameSync = keepSymbols(function renameSync(from, to) {
  const e = fire("rename", to, "before");
  if (e) throw e;
  const r = orig.renameSync.apply(this, arguments);
  fire("rename", to, "after");
  return r;
}, orig.renameSync);

fs.rename = keepSymbols(function rename(from, to, cb) {
  const e = fire("rename", to, "before");
  if (e) return process.nextTick(cb, e);
  return orig.rename.call(this, from, to, (err) => {
    if (!err) fire("rename", to, "after");
    cb(err);
  });
}, orig.rename);

fs.promises.rename = async function rename(from, to) {
  const e = fire("rename", to, "before");
  if (e) throw e;
  await orig.promisesRename(from, to);
  fire("rename", to, "after");
};

fs.unlinkSync = keepSymbols(function unlinkSync(file) {
  const e = fire("unlink", file, "before");
  if (e) throw e;
  const r = orig.unlinkSync.apply(this, arguments);
  fire("unlink", file, "after");
  return r;
}, orig.unlinkSync);

/** Descriptors opened for writing, with the file they were opened on. */
const writers = new Map();
const forWriting = (flags) => typeof flags === "string" ? /[wa+]/.test(flags) : typeof flags === "number" && (flags & 3) !== 0;

fs.openSync = keepSymbols(function openSync(file, flags) {
  const fd = orig.openSync.apply(this, arguments);
  if (forWriting(flags)) writers.set(fd, String(file));
  return fd;
}, orig.openSync);

fs.open = keepSymbols(function open(file, flags, ...rest) {
  const cb = rest.pop();
  return orig.open.call(this, file, flags, ...rest, (err, fd) => {
    if (!err && forWriting(flags)) writers.set(fd, String(file));
    cb(err, fd);
  });
}, orig.open);

fs.writeSync = keepSymbols(function writeSync(fd) {
  if (writers.has(fd)) {
    const e = fire("write", writers.get(fd), "before");
    if (e) throw e;
  }
  return orig.writeSync.apply(this, arguments);
}, orig.writeSync);

fs.write = keepSymbols(function write(fd, ...rest) {
  if (writers.has(fd)) {
    const e = fire("write", writers.get(fd), "before");
    if (e) return process.nextTick(rest.pop(), e);
  }
  return orig.write.call(this, fd, ...rest);
}, orig.write);

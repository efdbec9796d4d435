/**
 * A full disk: the store lives on a small tmpfs (root only: `mount -t tmpfs`), filled up so
 * that only N pages (4 KiB) are left, then `tsm create` runs. Wherever the disk runs out
 * (the record, a key, a certificate, the CA itself on a new store), the error must name the
 * path and the disk-full condition, exit with a documented status, and leave nothing half
 * written: the CA untouched (or, on a new store, absent or a whole pair), the other machines
 * valid, the new machine absent or reported by ls with a hint, no temporary file. After
 * space is freed, create (or the hint) works and everything is valid.
 *
 * Without root this file is skipped with the reason; in CI (CI=true) not being able to
 * mount is a failure. The tmpfs is unmounted afterwards.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { cp, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { describeWithPrereqs } from "../helpers/prereq.js";
import { counts, reportCounts } from "./lib/counts.js";
import { DOCUMENTED_EXIT, describeOutcome, errorText, killStragglers, stderrProblems, tsm } from "./lib/proc.js";
import { buildStore, checkStore, createArgs, exists, readCaKey, removeDir, tempStoreDir } from "./lib/store.js";

const PAGE = 4096;
const SIZE = "256k";

/** Why a tmpfs cannot be mounted here (empty: it can). Probed once, at collection. */
function mountProblems(): string[] {
  if (process.platform !== "linux") return [`tmpfs needs Linux (this is ${process.platform})`];
  if (process.getuid?.() !== 0) return ["not running as root (mounting a tmpfs needs it)"];
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsm-faults-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tsm-faults-probe", dir], { stdio: "pipe" });
    execFileSync("umount", [dir], { stdio: "pipe" });
    return [];
  } catch (err) {
    return [`cannot mount a tmpfs: ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let mountpoint = "";
let mounted = false;
let template = "";

function freeBytes(): number {
  const st = statfsSync(mountpoint);
  return st.bavail * st.bsize;
}

/** Empties the tmpfs, puts a copy of `from` (or an empty store) at <mount>/store, and fills the disk until `pages` pages are left. */
async function prepare(from: string | undefined, pages: number): Promise<string> {
  for (const e of readdirSync(mountpoint)) await rm(path.join(mountpoint, e), { recursive: true, force: true });
  const store = path.join(mountpoint, "store");
  if (from) await cp(from, store, { recursive: true });
  else await mkdir(store, { mode: 0o700 });
  const fill = freeBytes() - pages * PAGE;
  if (fill > 0) writeFileSync(path.join(mountpoint, "filler"), Buffer.alloc(fill));
  const left = freeBytes();
  if (left !== pages * PAGE) throw new Error(`could not fill the tmpfs to ${pages} free pages (${left} bytes free)`);
  return store;
}

describeWithPrereqs("a full disk under the store (tmpfs)", mountProblems(), () => {
  beforeAll(async () => {
    template = tempStoreDir("tsm-faults-template-");
    await buildStore(template, [{ name: "base", port: 2301 }]);
    mountpoint = mkdtempSync(path.join(os.tmpdir(), "tsm-faults-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${SIZE},mode=0700`, "tsm-faults", mountpoint], { stdio: "pipe" });
    mounted = true;
  }, 120_000);
  afterEach(async () => {
    await killStragglers();
  });
  afterAll(async () => {
    await killStragglers();
    if (mounted) {
      try {
        execFileSync("umount", [mountpoint], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", mountpoint], { stdio: "pipe" }); // busy: detach now, freed when released
      }
      mounted = false;
    }
    if (mountpoint) rmSync(mountpoint, { recursive: true, force: true });
    if (template) await removeDir(template);
  });
  reportCounts("disk-full");

  const cases: Array<{ withCa: boolean; pages: number }> = [
    ...[0, 1, 2, 4, 6].map((pages) => ({ withCa: true, pages })),
    ...[1, 3].map((pages) => ({ withCa: false, pages })),
  ];
  for (const { withCa, pages } of cases) {
    it(`create on a store ${withCa ? "with a CA" : "without a CA yet"}, ${pages} free page(s) left`, async () => {
      const problems: string[] = [];
      const store = await prepare(withCa ? template : undefined, pages);
      const caBefore = await readCaKey(store);
      counts.tries++;
      counts.faults++;
      const create = await tsm(store, createArgs("m", 2302));
      for (const p of stderrProblems(create)) problems.push(`${describeOutcome(create)} -> ${p}`);
      if (create.code === null || !DOCUMENTED_EXIT.has(create.code)) problems.push(`not a documented exit: ${describeOutcome(create)}`);
      if (create.code !== 0) {
        const error = errorText(create);
        if (!error.includes(`${store}/`)) problems.push(`the error does not name the path it could not write: ${describeOutcome(create)}`);
        if (!/no space left|disk is full|disk full|ENOSPC/i.test(error)) problems.push(`the error does not say the disk is full: ${describeOutcome(create)}`);
      }
      // Nothing half written, while the disk is still full (hints are followed once there is room).
      const full = await checkStore(store, { caKey: caBefore, mustBeValid: [...(withCa ? ["base"] : []), ...(create.code === 0 ? ["m"] : [])], followHints: false, journalsPending: true });
      problems.push(...full.problems, ...full.lost.map((l) => `LOST (disk full): ${l}`));

      // Room again: the hint (if m was reported) or a plain create must give a valid m.
      rmSync(path.join(mountpoint, "filler"), { force: true });
      const after = await checkStore(store, { caKey: (await readCaKey(store)) ?? undefined, mustBeValid: withCa ? ["base"] : [] });
      problems.push(...after.problems, ...after.lost.map((l) => `LOST (after freeing space): ${l}`));
      if (!(await exists(path.join(store, "machines", "m")))) {
        const again = await tsm(store, createArgs("m", 2302));
        if (again.code !== 0) problems.push(`create after freeing space failed: ${describeOutcome(again)}`);
      }
      const final = await checkStore(store, { caKey: (await readCaKey(store)) ?? undefined, mustBeValid: [...(withCa ? ["base"] : []), "m"] });
      problems.push(...final.problems, ...final.lost.map((l) => `LOST (at the end): ${l}`));
      if (withCa && !(await readCaKey(store))?.equals(caBefore!)) problems.push("LOST: certs/ca-key.pem is not the one before");

      counts.records += full.recordsChecked + after.recordsChecked + final.recordsChecked;
      counts.problems += problems.length;
      counts.lost += problems.filter((p) => p.startsWith("LOST")).length;
      expect(problems, `${describeOutcome(create)}\n    - ${problems.join("\n    - ")}`).toEqual([]);
    });
  }
});

/**
 * The fault layer's global setup: the built bundle (built here unless it is already newer
 * than the sources, e.g. when the cli project's setup built it in this run), the run's seed
 * (TSM_FAULT_SEED, "random", or the fixed default) and a directory where each test file
 * leaves its counts; the teardown prints the suite's total on stdout.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { countsLine, type Counts } from "./lib/counts.js";
import { resolveSeed, seedText } from "./lib/rng.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

function bundleIsFresh(): boolean {
  const dist = path.resolve(root, process.env.TSM_DIST || "dist");
  try {
    const built = Math.min(statSync(path.join(dist, "tsm.cjs")).mtimeMs, statSync(path.join(dist, "tsm-main.cjs")).mtimeMs);
    const sources = Math.max(...["src", "drivers", "scripts", "package.json"].map((p) => newestMtime(path.join(root, p))));
    return built > sources;
  } catch {
    return false;
  }
}

export default function setup(project: TestProject): () => void {
  if (!bundleIsFresh()) execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" });
  const seed = resolveSeed(process.env.TSM_FAULT_SEED);
  const countsDir = mkdtempSync(path.join(os.tmpdir(), "tsm-fault-counts-"));
  project.provide("tsmFaultSeed", seed);
  project.provide("tsmFaultCountsDir", countsDir);
  return () => {
    const total: Counts = { tries: 0, faults: 0, records: 0, problems: 0, lost: 0, worstExtraMs: 0, worstExtraWhat: "" };
    for (const f of readdirSync(countsDir)) {
      const c = JSON.parse(readFileSync(path.join(countsDir, f), "utf8")) as Counts;
      total.tries += c.tries;
      total.faults += c.faults;
      total.records += c.records;
      total.problems += c.problems;
      total.lost += c.lost;
      if (c.worstExtraMs > total.worstExtraMs) {
        total.worstExtraMs = c.worstExtraMs;
        total.worstExtraWhat = c.worstExtraWhat;
      }
    }
    rmSync(countsDir, { recursive: true, force: true });
    console.log(countsLine(`fault suite total, ${seedText(seed)}`, total));
  };
}

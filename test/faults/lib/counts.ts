/**
 * The suite's tally: tries, faults injected, records checked, problems, lost, and the
 * worst delay a fault added to the next command. Each test file keeps its own (vitest runs
 * files in separate processes), prints it in an afterAll line and leaves it in the run's
 * counts directory; the global setup's teardown prints the total for the whole suite.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, inject } from "vitest";

export interface Counts {
  tries: number;
  faults: number;
  records: number;
  problems: number;
  lost: number;
  /** Worst (next command's time - its baseline), ms, over the file. */
  worstExtraMs: number;
  worstExtraWhat: string;
}

export const counts: Counts = { tries: 0, faults: 0, records: 0, problems: 0, lost: 0, worstExtraMs: 0, worstExtraWhat: "" };

export function noteExtra(extraMs: number, what: string): void {
  if (extraMs > counts.worstExtraMs) {
    counts.worstExtraMs = extraMs;
    counts.worstExtraWhat = what;
  }
}

export function countsLine(label: string, c: Counts): string {
  const worst = c.worstExtraWhat ? `, worst next-command delay +${(c.worstExtraMs / 1000).toFixed(2)} s (${c.worstExtraWhat})` : "";
  return `${label}: tries ${c.tries}, faults injected ${c.faults}, records checked ${c.records}, failed checks ${c.problems}, lost: ${c.lost}${worst}`;
}

/** Registers the file's afterAll report. */
export function reportCounts(file: string): void {
  afterAll(() => {
    console.log(countsLine(`fault suite ${file}`, counts));
    const dir = inject("tsmFaultCountsDir");
    if (typeof dir === "string" && dir !== "") writeFileSync(path.join(dir, `${file.replace(/[^a-z0-9.-]/gi, "_")}.json`), JSON.stringify(counts));
  });
}

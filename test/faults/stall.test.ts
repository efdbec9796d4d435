/**
 * Stalls longer than any lock's stale timeout: a tsm command is stopped (SIGSTOP) at a
 * random point and held for TSM_FAULT_STOP_MS (default 12 s, past proper-lockfile's 10 s),
 * while two competitors start: the same command on the same machine (its lock) and a create
 * of another machine (the store lock). Then SIGCONT. A lock held by a live process must never
 * be taken, so:
 *
 * - the stopped command resumes and ends cleanly (no ECOMPROMISED, no stack trace), with a
 *   documented exit status;
 * - exactly one of the two same-machine commands wins (create: one exit 0, one exit 5; rm:
 *   one "Successfully removed", one exit 4; regenerate-certs: both succeed, in turn);
 * - a competitor that waited longer than 2 s said what it waits for;
 * - nothing lost (lib/store.ts checkStore), and the next command is not slowed by a stale lock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { counts, reportCounts } from "./lib/counts.js";
import { DOCUMENTED_EXIT, describeOutcome, killStragglers, secs, startTsm, stderrProblems, waitExit, type Outcome } from "./lib/proc.js";
import { rngFor, runSeed, seedText, type Rng } from "./lib/rng.js";
import { buildStore, checkStore, copyStore, createArgs, readCaKey, removeDir, tempStoreDir } from "./lib/store.js";
import { baselineText, measureBaseline, nextCommands, SILENT_WAIT_MS, type Baseline } from "./lib/trial.js";

const STOP_MS = Number(process.env.TSM_FAULT_STOP_MS || 12_000);
const COMMANDS = ["create", "rm", "regenerate-certs"] as const;
type Command = (typeof COMMANDS)[number];

const seed = runSeed();
let withCa: string;
let empty: string;

beforeAll(async () => {
  withCa = tempStoreDir("tsm-faults-template-");
  empty = tempStoreDir("tsm-faults-empty-");
  await buildStore(withCa, [
    { name: "base", port: 2301 },
    { name: "victim", port: 2302 },
  ]);
}, 120_000);
afterAll(async () => {
  await killStragglers();
  await removeDir(withCa);
  await removeDir(empty);
});
reportCounts("stall");

function argsFor(command: Command, port: number, rotate: boolean): { args: string[]; target: string } {
  switch (command) {
    case "create":
      return { args: createArgs("target", port), target: "target" };
    case "rm":
      return { args: ["rm", "-y", "victim"], target: "victim" };
    case "regenerate-certs":
      return { args: ["regenerate-certs", "-f", ...(rotate ? ["--client-certs"] : []), "victim"], target: "victim" };
  }
}

/** The rule for two same-machine commands that raced (`first` was stopped). */
function oneWinner(command: Command, first: Outcome, second: Outcome): string[] {
  const both = `${describeOutcome(first)}\n      ${describeOutcome(second)}`;
  switch (command) {
    case "create": {
      const codes = [first.code, second.code].sort();
      return codes[0] === 0 && codes[1] === 5 ? [] : [`two creates of one name must give exactly one exit 0 and one exit 5:\n      ${both}`];
    }
    case "rm": {
      const codes = [first.code, second.code].sort();
      const removed = [first, second].filter((o) => o.stdout.includes("Successfully removed victim")).length;
      return codes[0] === 0 && codes[1] === 4 && removed === 1 ? [] : [`two removals of one machine must give exactly one success and one exit 4:\n      ${both}`];
    }
    case "regenerate-certs":
      return first.code === 0 && second.code === 0 ? [] : [`two regenerate-certs of one machine must both succeed, in turn:\n      ${both}`];
  }
}

/** Tries per command, run side by side (stopped processes cost nothing), their stop points spread over the command's run. */
const TRIES = Number(process.env.TSM_FAULT_STALL_TRIES || 2);

async function oneTry(command: Command, k: number, baseline: Baseline, emptyStore: boolean, rotate: boolean, rng: Rng): Promise<string[]> {
  const { args, target } = argsFor(command, 25000 + k * 20, rotate);
  const store = tempStoreDir();
  const problems: string[] = [];
  let head = "";
  try {
    await copyStore(emptyStore ? empty : withCa, store);
    const caBefore = await readCaKey(store);
    counts.tries++;
    // Stop it somewhere between Node's start-up and the end of its work: try k in the k-th slice.
    const fraction = 0.15 + (0.8 * (k + rng.next())) / TRIES;
    const delay = Math.round(fraction * baseline.command);
    const holder = startTsm(store, args);
    await sleep(delay);
    const stopped = holder.signal("SIGSTOP");
    if (stopped) counts.faults++;
    await sleep(300);
    const same = startTsm(store, command === "create" ? createArgs("target", 25001 + k * 20) : args);
    const other = startTsm(store, createArgs("other", 25002 + k * 20));
    await sleep(STOP_MS - 300);
    const doneWhileStopped = [same, other].filter((p) => p.exited()).map((p) => `tsm ${p.args.join(" ")}`);
    holder.signal("SIGCONT");
    const [h, s, o] = await Promise.all([holder, same, other].map((p) => waitExit(p, 40_000)));
    head = `try ${k}: ${stopped ? `SIGSTOP after ${delay} ms (${fraction.toFixed(2)} of its ${baseline.command} ms baseline)` : `not stopped (it had exited before ${delay} ms)`} of "tsm ${args.join(" ")}" on a store ${emptyStore ? "without a CA" : "with a CA"}, held ${secs(STOP_MS)}; finished while it was stopped: ${doneWhileStopped.join(", ") || "none"}`;
    for (const r of [h!, s!, o!]) {
      if (r.hung) problems.push(`still running 40 s after SIGCONT: ${describeOutcome(r.outcome)}`);
      for (const p of stderrProblems(r.outcome)) problems.push(`${describeOutcome(r.outcome)}\n      -> ${p}`);
      if (r.outcome.code === null || !DOCUMENTED_EXIT.has(r.outcome.code)) problems.push(`not a documented exit: ${describeOutcome(r.outcome)}`);
    }
    problems.push(...oneWinner(command, h!.outcome, s!.outcome));
    if (o!.outcome.code !== 0) problems.push(`the other machine's create failed: ${describeOutcome(o!.outcome)}`);
    for (const [r, usual] of [[s!, baseline.command], [o!, baseline.createNew]] as const) {
      if (r.outcome.ms - usual > SILENT_WAIT_MS && !/wait/i.test(r.outcome.stderr)) {
        problems.push(`waited ${secs(r.outcome.ms)} without saying what it waits for: ${describeOutcome(r.outcome)}`);
      }
    }
    const next = await nextCommands(store, baseline, undefined, `after SIGSTOP during ${command}`, 25010 + k * 20);
    problems.push(...next.problems);
    head += `\n    ${next.figures}`;
    const report = await checkStore(store, {
      caKey: rotate ? undefined : (caBefore ?? (await readCaKey(store))),
      caRotated: rotate,
      mustBeValid: ["other", ...(emptyStore ? [] : ["base"]), ...(command === "rm" ? [] : [target]), ...(next.newName ? [next.newName] : [])],
      mustBeAbsent: command === "rm" ? [target] : [],
    });
    counts.records += report.recordsChecked;
    counts.problems += problems.length + report.problems.length + report.lost.length;
    counts.lost += report.lost.length;
    problems.push(...report.problems, ...report.lost.map((l) => `LOST: ${l}`));
  } finally {
    await removeDir(store);
  }
  return problems.length === 0 ? [] : [`${head}\n    - ${problems.join("\n    - ")}`];
}

/** One command's tries, with the baseline they were measured against. */
async function runCommand(command: Command): Promise<{ failures: string[]; baseline: Baseline }> {
  const rng = rngFor(seed, `stall/${command}`);
  const emptyStore = command === "create" && rng.chance(0.5);
  const rotate = command === "regenerate-certs" && rng.chance(0.5);
  const baseline = await measureBaseline(withCa, "base", argsFor(command, 25000, rotate).args, emptyStore ? empty : withCa);
  if (emptyStore) baseline.createNew = baseline.command;
  const tries = Array.from({ length: TRIES }, (_, k) => oneTry(command, k, baseline, emptyStore, rotate, rngFor(seed, `stall/${command}/${k}`)));
  return { failures: (await Promise.all(tries)).flat(), baseline };
}

describe("a command stopped past the stale timeout (SIGSTOP, then SIGCONT)", () => {
  // All commands' tries hold their stopped processes at the same time (a stopped process costs
  // nothing), so the file takes one hold, not three; each command's test reports its own.
  const runs = new Map<Command, Promise<{ failures: string[]; baseline: Baseline }>>();
  beforeAll(() => {
    for (const command of COMMANDS) {
      const run = runCommand(command);
      run.catch(() => undefined); // reported by the command's test
      runs.set(command, run);
    }
  });
  for (const command of COMMANDS) {
    it(`SIGSTOP for ${STOP_MS / 1000} s during ${command}`, async () => {
      const { failures, baseline } = await runs.get(command)!;
      expect(failures, `${seedText(seed)}; ${baselineText(baseline)}\n${failures.join("\n")}`).toEqual([]);
    }, STOP_MS + 150_000);
  }
});

/**
 * tsm processes the fault suite can hurt: started like test/helpers/cli.ts runTsm (the
 * built bundle, a clean environment, a temporary store) but kept as handles so a test
 * can signal them at a chosen moment, and timed. Every process started here is tracked
 * until it exits; `killStragglers` (afterEach) resumes and kills what is left, so a
 * failing test never leaves a stopped or running tsm behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { baseEnv, ROOT, TSM_BIN } from "../../helpers/cli.js";

export interface Outcome {
  args: readonly string[];
  pid: number;
  stdout: string;
  stderr: string;
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit. */
  ms: number;
}

export interface Running {
  readonly args: readonly string[];
  readonly pid: number;
  readonly started: number;
  readonly done: Promise<Outcome>;
  /** Has the process exited (as far as Node has seen)? */
  exited(): boolean;
  /** Sends a signal if the process still runs; true when it was sent. */
  signal(sig: NodeJS.Signals): boolean;
}

const live = new Set<ChildProcess>();

export interface StartOptions {
  input?: string;
  env?: Record<string, string | undefined>;
}

export function startTsm(store: string, args: readonly string[], options: StartOptions = {}): Running {
  const env: Record<string, string | undefined> = { ...baseEnv(), TSM_STORAGE_PATH: store, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const started = Date.now();
  const child = spawn(process.execPath, [TSM_BIN, ...args], { env: env as NodeJS.ProcessEnv, cwd: ROOT });
  live.add(child);
  let exited = false;
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin!.on("error", () => undefined); // a process killed early closes its stdin under us
  child.stdin!.end(options.input ?? "");
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", () => (exited = true));
    child.on("close", (code, signal) => {
      exited = true;
      live.delete(child);
      resolve({ args, pid: child.pid ?? -1, stdout, stderr, code, signal, ms: Date.now() - started });
    });
  });
  return {
    args,
    pid: child.pid ?? -1,
    started,
    done,
    exited: () => exited || child.exitCode !== null || child.signalCode !== null,
    signal(sig) {
      if (exited || child.exitCode !== null || child.signalCode !== null) return false;
      try {
        return child.kill(sig);
      } catch {
        return false;
      }
    },
  };
}

export function tsm(store: string, args: readonly string[], options: StartOptions = {}): Promise<Outcome> {
  return startTsm(store, args, options).done;
}

/** Waits for the process up to `ms`; then kills it (SIGCONT first, in case it is stopped) and says so. */
export async function waitExit(p: Running, ms: number): Promise<{ outcome: Outcome; hung: boolean }> {
  const timer = sleep(ms, "timeout" as const);
  const first = await Promise.race([p.done, timer]);
  if (first !== "timeout") return { outcome: first, hung: false };
  p.signal("SIGCONT");
  p.signal("SIGKILL");
  return { outcome: await p.done, hung: true };
}

/** Resumes and kills every tsm this file started that is still alive, and waits for them. */
export async function killStragglers(): Promise<number> {
  const left = [...live];
  for (const child of left) {
    try {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  await Promise.all(left.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("close", () => resolve())))));
  return left.length;
}

/** Documented exit statuses (README.md "Exit codes"). */
export const DOCUMENTED_EXIT = new Set([0, 1, 2, 3, 4, 5, 6, 7, 130]);

/** What must never reach a user's terminal: Node stack traces, lock-library internals, process warnings. */
export function stderrProblems(o: Outcome): string[] {
  const problems: string[] = [];
  if (/^\s+at .+:\d+:\d+\)?$/m.test(o.stderr)) problems.push("a Node stack trace on stderr");
  if (/ECOMPROMISED/.test(o.stderr)) problems.push("ECOMPROMISED (a lock was taken from a live holder)");
  if (/\(node:\d+\) /.test(o.stderr)) problems.push(`a Node process warning on stderr (${/\(node:\d+\) ([^\n]*)/.exec(o.stderr)?.[1] ?? ""})`);
  if (/node:internal/.test(o.stderr)) problems.push("Node internals on stderr");
  return problems;
}

/** The error report at the end of stderr (from the last "Error" on), not the progress lines before it. */
export function errorText(o: Outcome): string {
  const at = o.stderr.lastIndexOf("Error");
  return at >= 0 ? o.stderr.slice(at) : o.stderr.trim().split("\n").slice(-3).join("\n");
}

export function describeOutcome(o: Outcome): string {
  const end = o.signal ? `killed by ${o.signal}` : `exit ${o.code}`;
  const err = o.stderr.trim().split("\n").slice(-6).join("\n      | ");
  return `tsm ${o.args.join(" ")} -> ${end} after ${secs(o.ms)}${err ? `\n      | ${err}` : ""}`;
}

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * Runs the built tsm as a user would: a subprocess with a temporary store and
 * a clean environment (no DOCKER_* or TSM_* leaking in from the developer's shell).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The built command; TSM_DIST (as for scripts/build.mjs) points tests at another build. */
export const TSM_BIN = path.join(path.resolve(ROOT, process.env.TSM_DIST || "dist"), "tsm.cjs");

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
}

export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(DOCKER_|TSM_|NONE_|GENERIC_|QEMU_|VIRTUALBOX_|NO_PROXY$|no_proxy$)/.test(k)) continue;
    env[k] = v;
  }
  env.SHELL = "/bin/bash";
  // Docker contexts off: tests leave the developer's ~/.docker alone (test/cli/contexts.test.ts turns them on).
  env.TSM_NO_CONTEXTS = "1";
  return env;
}

export function runTsm(store: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [TSM_BIN, ...args], { ...baseEnv(), TSM_STORAGE_PATH: store, ...options.env }, options);
}

/** Runs `file` with exactly `env` (undefined values dropped), stdin from `options.input`, and collects its output. */
export function runProcess(file: string, args: readonly string[], env: Record<string, string | undefined>, options: Omit<RunOptions, "env"> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
    const child = spawn(file, args, { env: clean, cwd: options.cwd ?? ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, stderr, exitCode: code ?? -1 }));
    child.stdin.end(options.input ?? "");
  });
}

/** Runs a bash script in the clean environment plus `env`; never rejects: a failure is its exit code (1 when killed by the timeout). */
export function runBash(script: string, env: Record<string, string> = {}, timeoutMs = 5 * 60_000, maxBuffer = 64 * 1024 * 1024): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", script], { env: { ...baseEnv(), ...env }, timeout: timeoutMs, maxBuffer }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

export async function tempDir(prefix = "tsm-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs the built tsm as a user would: a subprocess with a temporary store and
 * a clean environment (no DOCKER_* or TSM_* leaking in from the developer's shell).
 */
import { spawn } from "node:child_process";
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
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...baseEnv(), TSM_STORAGE_PATH: store, ...options.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [TSM_BIN, ...args], { env: env as NodeJS.ProcessEnv, cwd: options.cwd ?? ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, stderr, exitCode: code ?? -1 }));
    child.stdin.end(options.input ?? "");
  });
}

export async function tempDir(prefix = "tsm-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Local programs that take over the terminal: `tsm ssh` through OpenSSH, `scp`, `rsync`.
 * Part of the only door to local processes (src/exec): stdio is inherited, so the user
 * talks to the program directly (its prompts, its progress, a TTY for ssh), and the
 * result is only how it ended. execa is imported lazily, as in exec.ts.
 */
import { constants } from "node:os";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import path from "node:path";
import { ExecError } from "./exec.js";

export interface InheritedRunOptions {
  /** The whole environment of the program (not merged with process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborting terminates the program (SIGTERM). */
  signal?: AbortSignal;
}

/**
 * Runs `file` with this process's stdin, stdout and stderr; resolves with its exit status,
 * 128 + N when a signal N ended it (as shells report it). Rejects with ExecError only when
 * it could not be started at all.
 */
export async function runWithInheritedStdio(file: string, args: readonly string[], options: InheritedRunOptions): Promise<number> {
  const { execa } = await import("execa");
  const result = await execa(file, [...args], {
    stdio: "inherit",
    env: { ...options.env },
    extendEnv: false,
    cancelSignal: options.signal,
    reject: false,
  });
  if (result.exitCode !== undefined) return result.exitCode;
  const signal = result.signal as NodeJS.Signals | undefined;
  if (signal !== undefined && constants.signals[signal] !== undefined) return 128 + constants.signals[signal];
  const code = (result as { code?: string }).code ?? "";
  throw new ExecError(file, args, { stdout: "", stderr: code === "ENOENT" ? `${file}: not found (ENOENT)` : String(result.shortMessage ?? ""), exitCode: 127 }, { cause: result });
}

/** The executable `name` the way a shell finds it on `env.PATH`, or undefined. */
export function findOnPath(name: string, env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? "").split(platform === "win32" ? ";" : ":").filter((d) => d !== "");
  const names = platform === "win32" ? [`${name}.exe`, name] : [name];
  for (const dir of dirs) {
    for (const n of names) {
      const candidate = path.resolve(dir, n);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      } catch {
        // not there, or not executable
      }
    }
  }
  return undefined;
}

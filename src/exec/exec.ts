/**
 * The only door to local processes. Drivers get an `Exec` through their
 * DriverHost, so tests can hand them a table fake; the real one wraps execa,
 * imported lazily because most commands never spawn anything.
 */
import type { Exec, ExecResult } from "../model/seams.js";
export type { Exec, ExecOptions, ExecResult } from "../model/seams.js";

/** Thrown by the real Exec when a command fails and `reject` is not false. */
export class ExecError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly result: ExecResult,
    options?: { cause?: unknown },
  ) {
    const last = result.stderr.trim().split("\n").pop() ?? "";
    super(`${file} ${args.join(" ")} exited with ${result.exitCode}${last ? `: ${last}` : ""}`, options);
    this.name = "ExecError";
  }
}

export const realExec: Exec = async (file, args, options = {}) => {
  const { execa } = await import("execa");
  const result = await execa(file, [...args], {
    input: options.input,
    env: options.env,
    extendEnv: true,
    cwd: options.cwd,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    reject: false,
    stripFinalNewline: false,
  });
  const out: ExecResult = {
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    exitCode: result.exitCode ?? (result.failed ? 1 : 0),
  };
  if (result.failed && result.exitCode === undefined) {
    // It never ran (not installed, not executable): say so whatever `reject` says.
    const code = (result as { code?: string }).code ?? "";
    throw new ExecError(file, args, { ...out, stderr: `${out.stderr}${code === "ENOENT" ? `${file}: not found (ENOENT)` : String(result.shortMessage ?? "")}` }, { cause: result });
  }
  if (result.failed && options.reject !== false) {
    throw new ExecError(file, args, out, { cause: result });
  }
  return out;
};

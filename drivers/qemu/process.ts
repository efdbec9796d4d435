/**
 * The QEMU process of a machine, known only from its pid file: alive means the pid runs
 * and (where /proc exists) its command line names this machine's disk, so a stale pid
 * file whose number was reused by another process never reads as a running VM.
 */
import { existsSync, readFileSync } from "node:fs";

export function readPid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8").trim();
  } catch {
    return undefined;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function isOurQemu(pid: number, diskPath: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but is not ours to signal, so it is not our QEMU either.
    return false;
  }
  const procCmdline = `/proc/${pid}/cmdline`;
  if (existsSync("/proc/self/cmdline")) {
    try {
      const cmdline = readFileSync(procCmdline, "utf8");
      return cmdline.includes(diskPath);
    } catch {
      return false;
    }
  }
  return true;
}

/** The running QEMU's pid, or undefined. */
export function runningPid(pidFile: string, diskPath: string): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isOurQemu(pid, diskPath) ? pid : undefined;
}

/** Resolves true once the process is gone, false at the deadline. */
export async function waitForExit(pid: number, diskPath: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isOurQemu(pid, diskPath)) {
    if (Date.now() >= deadline || signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

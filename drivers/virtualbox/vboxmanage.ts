/**
 * VBoxManage: where it is, and running it through the exec seam.
 *
 * Located on PATH; on Windows also in VBOX_INSTALL_PATH / VBOX_MSI_INSTALL_PATH (set by the
 * VirtualBox installer) and the default install directory; on macOS in the application
 * bundle. Every call goes through `Exec` (DriverHost.exec), so tests record or fake them.
 *
 * Errors: VBoxManage prints `VBoxManage: error: <text>` lines (plus `Details:` and `Context:`
 * lines) on stderr and exits 1, or 2 for syntax errors. Some errors are transient while
 * another process holds the VM's session lock or VirtualBox's service is busy ("is already
 * locked for a session", "The object is not ready"): those are retried until a deadline.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Exec } from "../../src/exec/exec.js";
import { sleep } from "../../src/model/abort.js";
import { TsmError } from "../../src/model/errors.js";

export const VBOXMANAGE_NOT_FOUND = "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path";

/** Candidate paths for VBoxManage, in order. */
export function vboxManageCandidates(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): string[] {
  const win = platform === "win32";
  const exe = win ? "VBoxManage.exe" : "VBoxManage";
  const join = win ? path.win32.join : path.posix.join;
  const out: string[] = [];
  const pathVar = env.PATH ?? env.Path ?? "";
  for (const dir of pathVar.split(win ? ";" : ":")) if (dir !== "") out.push(join(dir, exe));
  if (win) {
    for (const v of [env.VBOX_INSTALL_PATH, env.VBOX_MSI_INSTALL_PATH]) {
      for (const dir of (v ?? "").split(";")) if (dir.trim() !== "") out.push(join(dir.trim(), exe));
    }
    out.push(join(env.ProgramFiles ?? "C:\\Program Files", "Oracle", "VirtualBox", exe));
  }
  if (platform === "darwin") {
    out.push("/Applications/VirtualBox.app/Contents/MacOS/VBoxManage", "/usr/local/bin/VBoxManage");
  }
  return out;
}

export function findVBoxManage(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
  exists: (p: string) => boolean = existsSync,
): string | undefined {
  return vboxManageCandidates(env, platform).find((p) => exists(p));
}

/** A failed VBoxManage call: the first error line as the message, the rest as details. */
export class VBoxManageError extends TsmError {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly status: number,
  ) {
    const lines = errorLines(stderr);
    super("VBOXMANAGE", `VBoxManage ${args.join(" ")} failed: ${lines[0] ?? `exit status ${status}`}`, {
      details: lines.slice(1).filter((l) => !/^(Details|Context):/.test(l)),
    });
  }
  /** The whole stderr, for matching error kinds. */
  get text(): string {
    return this.stderr;
  }
}

/** The `VBoxManage: error: ` lines without the prefix (or the last non-empty lines). */
export function errorLines(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const errors = lines.filter((l) => /^VBoxManage(\.exe)?: error: /.test(l)).map((l) => l.replace(/^VBoxManage(\.exe)?: error: /, ""));
  if (errors.length > 0) return errors;
  return lines.filter((l) => !/^(\d+%\.{3})+/.test(l)).slice(-3);
}

const TRANSIENT = [
  /is already locked for a session \(or being unlocked\)/,
  /The object is not ready/,
  /VBOX_E_INVALID_OBJECT_STATE.*(locked|session)/s,
];

export function isTransient(stderr: string): boolean {
  return TRANSIENT.some((re) => re.test(stderr)) && !/already locked by a session \(or being locked or unlocked\)/.test(stderr);
}

export function isNotFound(stderr: string): boolean {
  return /Could not find a registered machine/.test(stderr) || /VBOX_E_OBJECT_NOT_FOUND/.test(stderr);
}

/** VT-x/AMD-V missing or taken by another hypervisor, from a failed startvm (or VBox.log). */
export function vtxProblem(text: string): string | undefined {
  if (/VERR_VMX_NO_VMX|VT-x is not available/.test(text)) return "VT-x is not available";
  if (/VERR_SVM_DISABLED|AMD-V is disabled/.test(text)) return "AMD-V is disabled";
  if (/VERR_VMX_MSR_(ALL_)?VMX_DISABLED|VERR_VMX_MSR_LOCKING_FAILED|VT-x is disabled/.test(text)) return "VT-x is disabled";
  if (/VERR_SVM_NO_SVM|AMD-V is not available/.test(text)) return "AMD-V is not available";
  if (/VERR_VMX_IN_VMX_ROOT_MODE|VERR_SVM_IN_USE|VERR_NEM_NOT_AVAILABLE/.test(text)) return "the CPU's virtualization is in use by another hypervisor";
  return undefined;
}

export interface VBoxManageOptions {
  exec: Exec;
  /** Resolved VBoxManage path. */
  bin: string;
  /** How long transient errors are retried (default 10 s). */
  retryMs?: number;
  debug?: (line: string) => void;
  signal?: AbortSignal;
  /** The wait between retries (default: model/abort.ts's sleep on `signal`); `what` names it in the interrupt message. */
  sleep?: (ms: number, what: string) => Promise<void>;
}

export interface VBoxManage {
  readonly bin: string;
  /** Runs VBoxManage; throws VBoxManageError on failure (transient errors retried). */
  run(args: readonly string[], opts?: { timeoutMs?: number; retry?: boolean }): Promise<string>;
  /** Runs VBoxManage; never throws for its failures. */
  tryRun(args: readonly string[], opts?: { timeoutMs?: number }): Promise<{ ok: boolean; stdout: string; stderr: string; exitCode: number }>;
}

export function vboxManage(o: VBoxManageOptions): VBoxManage {
  const pause = o.sleep ?? ((ms: number, what: string) => sleep(ms, o.signal, what));
  const once = async (args: readonly string[], timeoutMs?: number) => {
    o.debug?.(`VBoxManage ${args.join(" ")}`);
    const r = await o.exec(o.bin, args, { reject: false, signal: o.signal, timeoutMs: timeoutMs ?? 10 * 60_000 });
    // Docker Machine's rule: "error:" on stderr is a failure even with exit status 0.
    const ok = r.exitCode === 0 && !/(^|\n)VBoxManage(\.exe)?: error:/.test(r.stderr);
    if (!ok) o.debug?.(`  -> exit ${r.exitCode}: ${r.stderr.trim().split("\n")[0] ?? ""}`);
    return { ok, ...r };
  };
  return {
    bin: o.bin,
    tryRun: (args, opts = {}) => once(args, opts.timeoutMs),
    async run(args, opts = {}) {
      const deadline = Date.now() + (o.retryMs ?? 10_000);
      let wait = 100;
      for (;;) {
        const r = await once(args, opts.timeoutMs);
        if (r.ok) return r.stdout;
        if (opts.retry !== false && isTransient(r.stderr) && Date.now() + wait < deadline && !o.signal?.aborted) {
          await pause(wait, `retrying VBoxManage ${args[0] ?? ""}`);
          wait = Math.min(wait * 2, 1000);
          continue;
        }
        throw new VBoxManageError(args, r.stderr, r.exitCode);
      }
    },
  };
}

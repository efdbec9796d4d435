/**
 * The tries of one start: the plan's attempts in order (accel.ts), each a QEMU launch.
 * A CPU-feature failure moves on to the next CPU model, an accelerator failure to the
 * fallback (TCG, with one warning line), any other failure is the start's error at once.
 * The launch is injected: the driver's runs QEMU, tests' run a stand-in or a table.
 */
import { TsmError } from "../../src/model/errors.js";
import { classifyQemuFailure, qemuMessage, type AccelAttempt, type AccelPlan, type FailureKind } from "./accel.js";

export type LaunchResult = { ok: true } | { ok: false; stderr: string };

export interface FailedAttempt {
  attempt: AccelAttempt;
  message: string;
  kind: FailureKind;
}

export interface StartOutcome {
  chosen: AccelAttempt;
  /** Why TCG was used although an accelerator is there ("" when it was not a fallback). */
  accelFallback: string;
  failed: FailedAttempt[];
}

export interface AttemptHooks {
  machineName: string;
  launch(attempt: AccelAttempt): Promise<LaunchResult>;
  log(line: string): void;
  debug(line: string): void;
}

const accelName = (a: AccelAttempt) => a.accel.toUpperCase();

export async function runAttempts(plan: AccelPlan, hooks: AttemptHooks): Promise<StartOutcome> {
  const { machineName, launch, log, debug } = hooks;
  if (plan.notice) log(plan.notice);
  const failed: FailedAttempt[] = [];
  let previous: FailedAttempt | undefined;
  for (const attempt of plan.attempts) {
    if (previous) log(`${accelName(attempt)} refused CPU model ${previous.attempt.cpuModel} (${previous.message}): starting with CPU ${attempt.cpuModel}...`);
    else log(`Starting the VM with ${attempt.what}...`);
    const r = await launch(attempt);
    if (r.ok) return { chosen: attempt, accelFallback: "", failed };
    const f: FailedAttempt = { attempt, message: qemuMessage(r.stderr) || "QEMU failed without a message", kind: classifyQemuFailure(r.stderr) };
    debug(`QEMU (${attempt.accel}, -cpu ${attempt.cpuModel}) failed (${f.kind}): ${r.stderr.trim()}`);
    failed.push(f);
    if (f.kind === "other") throw new TsmError("QEMU_START", `QEMU could not start "${machineName}": ${f.message}`);
    if (f.kind === "accel") break; // another CPU model will not help
    previous = f;
  }
  const last = failed.at(-1);
  if (!plan.fallback) {
    if (!last) throw new TsmError("QEMU_START", `QEMU could not start "${machineName}": no accelerator to try`);
    const accel = accelName(last.attempt);
    throw new TsmError(
      "QEMU_START",
      `QEMU could not start "${machineName}" with ${accel}: ${last.message}. --qemu-accel ${last.attempt.accel} does not fall back: create the machine with --qemu-accel tcg (software emulation, slow) or --qemu-accel auto`,
      { details: failed.map((x) => `-cpu ${x.attempt.cpuModel}: ${x.message}`) },
    );
  }
  const why = last ? `${accelName(last.attempt)} cannot run this VM here (QEMU: ${last.message})` : (plan.fallbackReason ?? "no accelerator");
  log(`Warning: ${why}: using TCG software emulation instead, which is much slower (boots take minutes)`);
  log(`Starting the VM with ${plan.fallback.what}...`);
  const r = await launch(plan.fallback);
  if (r.ok) return { chosen: plan.fallback, accelFallback: last ? `${accelName(last.attempt)} failed here: ${last.message}` : why, failed };
  const message = qemuMessage(r.stderr) || "QEMU failed without a message";
  debug(`QEMU (tcg) failed: ${r.stderr.trim()}`);
  throw new TsmError("QEMU_START", `QEMU could not start "${machineName}": ${message}`, { details: failed.map((x) => `${x.attempt.accel} -cpu ${x.attempt.cpuModel}: ${x.message}`) });
}

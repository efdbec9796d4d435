/**
 * Composition root: builds the real dependencies, registers the built-in
 * drivers, runs the command, and is the only place that turns an error into
 * an exit status. Nothing below it calls process.exit.
 */
import { builtinDrivers } from "../../drivers/index.js";
import * as modelErrors from "../model/errors.js";
import { InterruptNote } from "../model/abort.js";
import { ExitCode, isTsmError } from "../model/errors.js";
import { DriverRegistry } from "../model/registry.js";
import { realExec } from "../exec/exec.js";
import { processIo } from "../output/io.js";
import { LiveProgress, lazyProgress, plainProgress } from "../output/progress.js";
import { isDebug } from "./support/context.js";
import { createProgram } from "./program.js";
import { programName, reportError } from "./report.js";
import { asDockerMachineWords, compatMode } from "./support/compat.js";

// The VM drivers are bundled apart (scripts/build.mjs) and use this very module, so error
// classes (instanceof, exit codes) are one across bundles.
(globalThis as Record<symbol, unknown>)[Symbol.for("tsm.model.errors")] = modelErrors;

export async function main(): Promise<void> {
  // Run as `docker-machine` (or TSM_COMPAT=docker-machine): Docker Machine's store default, exit codes and words
  // (stderr's usage hints name docker-machine).
  const compat = compatMode(process.argv[1], process.env);
  const processStreams = processIo();
  const rawIo =
    compat === "docker-machine"
      ? (Object.create(processStreams, { err: { value: (text: string) => processStreams.err(asDockerMachineWords(text)) } }) as typeof processStreams)
      : processStreams;
  // stderr goes through the progress display so messages never land inside a live step line.
  const progress = lazyProgress(() => (rawIo.stderrIsTTY ? new LiveProgress(rawIo.err) : plainProgress(rawIo.err)), rawIo.err);
  const io = Object.create(rawIo, { err: { value: (text: string) => progress.above(text) } }) as typeof rawIo;
  // SIGINT (Ctrl-C) and SIGTERM (`kill`, a CI runner's cancel) stop the command the same
  // way: its signal is aborted, core stops at its next step and says what is left. The exit
  // status tells the truth: 130 (SIGINT) or 143 (SIGTERM) when the command stopped early,
  // 0 when it had completed all the same. A second signal, or the grace period over,
  // forces the exit; what the command would leave is still said (session.interruptNote).
  const controller = new AbortController();
  const interruptNote = new InterruptNote();
  let received: "SIGINT" | "SIGTERM" | undefined;
  let finished = false;
  const stoppedStatus = () => (received === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted);
  const forceExit = () => {
    if (finished) process.exit();
    const left = interruptNote.text();
    progress.finish(false);
    rawIo.err(`Interrupted${left === undefined ? "" : `: ${left}`}.\n`);
    process.exit(stoppedStatus());
  };
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (received !== undefined) return forceExit();
    received = signal;
    controller.abort();
    // Give the running operation a moment to reach its next step, then stop.
    setTimeout(forceExit, 5000).unref();
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  const argv = [programName(process.argv[1]), ...process.argv.slice(2)];
  const drivers = new DriverRegistry();
  for (const d of builtinDrivers) drivers.register(d);
  const program = createProgram({
    io,
    progress,
    drivers,
    exec: realExec,
    ssh: async (options) => (await import("../ssh/ssh2-connector.js")).ssh2Connector(options),
    env: process.env,
    platform: process.platform,
    argv,
    signal: controller.signal,
    interruptNote,
    compat,
  });
  try {
    await program.parseAsync(process.argv);
    finished = true;
    progress.finish(true);
    // Every step was done: an interrupt that came too late to stop anything is no failure.
    if (received !== undefined) io.err("Interrupt received after the last step: the command completed.\n");
  } catch (err) {
    finished = true;
    progress.finish(false);
    if (received !== undefined && !isTsmError(err)) {
      // A raw failure the interrupt caused (a cancelled request): say it stopped.
      const left = interruptNote.text();
      io.err(`Interrupted${left === undefined ? "" : `: ${left}`}.\n`);
      process.exitCode = stoppedStatus();
      return;
    }
    const status = reportError(err, io, isDebug(argv, process.env), argv, compat);
    process.exitCode = status === ExitCode.interrupted && received !== undefined ? stoppedStatus() : status;
  }
}

void main();

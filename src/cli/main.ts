/**
 * Composition root: builds the real dependencies, registers the built-in
 * drivers, runs the command, and is the only place that turns an error into
 * an exit status. Nothing below it calls process.exit.
 */
import { builtinDrivers } from "../../drivers/index.js";
import * as modelErrors from "../model/errors.js";
import { ExitCode, isTsmError } from "../model/errors.js";
import { DriverRegistry } from "../model/registry.js";
import { realExec } from "../exec/exec.js";
import { processIo } from "../output/io.js";
import { LiveProgress, lazyProgress, plainProgress } from "../output/progress.js";
import { isDebug } from "./support/context.js";
import { createProgram } from "./program.js";
import { programName, reportError } from "./report.js";

// The VM drivers are bundled apart (scripts/build.mjs) and use this very module, so error
// classes (instanceof, exit codes) are one across bundles.
(globalThis as Record<symbol, unknown>)[Symbol.for("tsm.model.errors")] = modelErrors;

export async function main(): Promise<void> {
  const rawIo = processIo();
  // stderr goes through the progress display so messages never land inside a live step line.
  const progress = lazyProgress(() => (rawIo.stderrIsTTY ? new LiveProgress(rawIo.err) : plainProgress(rawIo.err)), rawIo.err);
  const io = Object.create(rawIo, { err: { value: (text: string) => progress.above(text) } }) as typeof rawIo;
  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts++;
    controller.abort();
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    // Give the running operation a moment to leave a clean state, then stop.
    setTimeout(() => process.exit(ExitCode.interrupted), 5000).unref();
  });
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
  });
  try {
    await program.parseAsync(process.argv);
    progress.finish(true);
    if (controller.signal.aborted) process.exitCode = ExitCode.interrupted;
  } catch (err) {
    progress.finish(false);
    process.exitCode = controller.signal.aborted && !isTsmError(err) ? ExitCode.interrupted : reportError(err, io, isDebug(argv, process.env), argv);
  }
}

void main();

/**
 * Live status of machines for `ls` and `active`: state, URL and engine
 * version, every machine concurrently, each bounded by the same deadline. A
 * machine that does not answer in time becomes a Timeout row; it never delays
 * the others.
 */
import { MachineStateError, isTsmError } from "../model/errors.js";
import type { MachineState } from "../model/driver.js";
import type { MachineRecord } from "../model/machine.js";
import { openRecord } from "./open.js";
import { machineTlsConnection } from "./connection.js";
import { getEngineVersion } from "../docker/engine-api.js";
import { opContext, type Session } from "./session.js";

export interface ProbeResult {
  name: string;
  driverName: string;
  /** A driver's state, or "Creating" for a machine whose create is running (core/list.ts). */
  state: MachineState | "Creating";
  url: string;
  /** "v20.10.24", "Unknown" when the engine could not be asked, "" when not running. */
  dockerVersion: string;
  error: string;
  responseMs: number;
  record?: MachineRecord;
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Skip the engine query (`ls -q --filter state=...` needs the state only). */
  stateOnly?: boolean;
}

class ProbeTimeout extends Error {}

export async function probeMachine(session: Session, record: MachineRecord, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  // The probe's own deadline, and the command's interrupt through AbortSignal.any: no
  // listener per machine piles up on the command's signal (ls over 11 machines used to
  // print Node's MaxListenersExceededWarning).
  const controller = new AbortController();
  const signal = AbortSignal.any([session.signal, controller.signal]);
  const base = { name: record.name, driverName: record.driver.name, record };
  const deadline = started + options.timeoutMs;
  // The driver's state must come within the timeout; the engine query gets what is left of it.
  // The outer race is the safety net for a driver that ignores its abort signal.
  let timer: NodeJS.Timeout | undefined;
  const timeoutResult = (): ProbeResult => ({
    ...base,
    state: "Timeout",
    url: "",
    dockerVersion: "",
    error: `No answer within ${options.timeoutMs / 1000}s`,
    responseMs: performance.now() - started,
  });
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(timeoutResult());
    }, options.timeoutMs + 250);
  });
  const work = (async (): Promise<ProbeResult> => {
    const machine = await openRecord(session, record);
    const ctx = opContext(session, record.name, signal);
    const state = await machine.driver.getState(ctx);
    if (performance.now() > deadline) throw new ProbeTimeout();
    if (state !== "Running") {
      return { ...base, state, url: "", dockerVersion: "", error: "", responseMs: performance.now() - started };
    }
    let url = "";
    try {
      url = await machine.driver.getUrl(ctx);
    } catch (err) {
      if (!(err instanceof MachineStateError)) throw err;
    }
    if (options.stateOnly || url === "") {
      return { ...base, state, url, dockerVersion: "", error: "", responseMs: performance.now() - started };
    }
    try {
      const connection = await machineTlsConnection({ ...session, io: { ...session.io, err: () => undefined } }, machine);
      const version = await getEngineVersion(connection.endpoint, {
        timeoutMs: Math.max(1, deadline - performance.now()),
        signal,
      });
      return { ...base, state, url, dockerVersion: `v${version.Version}`, error: "", responseMs: performance.now() - started };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // The row says it in words; the socket's or OpenSSL's own text is for --debug.
      const raw = (err as { cause?: unknown }).cause;
      if (raw instanceof Error) ctx.debug(`engine query: ${(raw as { code?: string }).code ?? raw.name}: ${raw.message.trim()}`);
      return {
        ...base,
        state,
        url,
        dockerVersion: "Unknown",
        error: `Unable to query docker version: ${message}`,
        responseMs: performance.now() - started,
      };
    }
  })().catch(
    (err: unknown): ProbeResult => err instanceof ProbeTimeout ? timeoutResult() : ({
      ...base,
      state: "Error",
      url: "",
      dockerVersion: "",
      error: isTsmError(err) || err instanceof Error ? err.message : String(err),
      responseMs: performance.now() - started,
    }),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

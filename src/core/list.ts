/**
 * The rows of `tsm ls`: every machine with its live state, URL and engine version,
 * probed concurrently and each bounded by the timeout (core/probe.ts). Without
 * filters, `quiet` only reads the directory names, so it stays as fast as listing
 * a directory. Rendering the rows (templates, table) is the CLI's. Also the
 * active machine: the running one whose URL is $DOCKER_HOST.
 */
import { MachineNotFoundError } from "../model/errors.js";
import type { MachineRecord } from "../model/machine.js";
import { keyPairProblems } from "./connection.js";
import { hasAnyFilter, matchesState, matchesStatic, type LsFilters } from "./ls-filter.js";
import { openRecord } from "./open.js";
import { probeMachine, type ProbeResult } from "./probe.js";
import { opContext, type Session } from "./session.js";

export interface ListOptions {
  /** Names only: machines are probed only when a state filter needs it. */
  quiet: boolean;
  /** `--filter key=value` values, parsed (ls-filter.ts parseFilters). */
  filters: LsFilters;
  /** The bound on each machine's probe. */
  timeoutMs: number;
}

/** One row; the field names are Docker Machine's, for `ls --format` templates. */
export interface LsRow extends Record<string, unknown> {
  Name: string;
  Active: string;
  ActiveHost: boolean;
  ActiveSwarm: boolean;
  DriverName: string;
  State: string;
  URL: string;
  Swarm: string;
  SwarmOptions: unknown;
  EngineOptions: unknown;
  Error: string;
  DockerVersion: string;
  ResponseTime: string;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, "")}s`;
}

/** A probe as a row; the active machine is the running one whose URL is $DOCKER_HOST. */
export function toRow(p: ProbeResult, dockerHost: string | undefined): LsRow {
  const activeHost = p.state === "Running" && p.url !== "" && p.url === dockerHost;
  const swarm = p.record?.swarm;
  return {
    Name: p.name,
    Active: p.state === "Timeout" ? "" : activeHost ? "*" : p.record ? "-" : "",
    ActiveHost: activeHost,
    ActiveSwarm: false,
    DriverName: p.driverName,
    State: p.state,
    URL: p.url,
    Swarm: swarm ? (swarm.role === "master" ? `${swarm.master} (master)` : swarm.master) : "",
    SwarmOptions: swarm ?? null,
    EngineOptions: p.record?.engine ?? null,
    Error: p.error.replace(/\s*\n\s*/g, " "),
    DockerVersion: p.dockerVersion,
    ResponseTime: formatDuration(p.responseMs),
  };
}

/** The names that pass the filters, and (unless `quiet`) their rows. */
export async function listMachines(session: Session, options: ListOptions): Promise<{ names: string[]; rows?: LsRow[] }> {
  const { filters } = options;
  const names = await session.store.list();
  if (options.quiet && !hasAnyFilter(filters)) return { names };
  const loaded = await Promise.all(
    names.map(async (name) => ({ name, creating: session.store.creating(name), result: await session.store.tryLoad(name) })),
  );
  // A machine removed since the directory was listed is not a row.
  const present = loaded.filter(({ result }) => result.ok || !(result.error instanceof MachineNotFoundError));
  const candidates = present.filter(({ name, result }) => matchesStatic(filters, name, result.ok ? result.record : undefined));
  const needsProbe = !options.quiet || filters.state.length > 0;
  const probes = await Promise.all(
    candidates.map(async ({ name, creating, result }): Promise<ProbeResult> => {
      if (creating?.running) {
        // Its create runs: nothing to ask its driver yet, and nothing is wrong with it.
        const record = result.ok ? result.record : undefined;
        return { name, driverName: record?.driver.name ?? "unknown", state: "Creating", url: "", dockerVersion: "", error: "", responseMs: 0, ...(record ? { record } : {}) };
      }
      if (!result.ok) {
        return { name, driverName: "unknown", state: "Error", url: "", dockerVersion: "", error: result.error.message, responseMs: 0 };
      }
      if (creating) {
        // Its creating process died before the create could end (SIGKILL, a crash): the create was interrupted.
        const error = `The create of "${name}" did not finish. Finish it with "${await finishCommand(session, result.record)}" or remove it with "tsm rm -f ${name}"`;
        return { name, driverName: result.record.driver.name, state: "Error", url: "", dockerVersion: "", error, responseMs: 0, record: result.record };
      }
      if (!needsProbe) {
        return { name, driverName: result.record.driver.name, state: "", url: "", dockerVersion: "", error: "", responseMs: 0, record: result.record };
      }
      // A key that is not its certificate's (a damaged file, or a crash in the middle of a rewrite by an older tsm) breaks TLS whatever the host does.
      const pairs = await keyPairProblems(session.store.paths.machine(name));
      if (pairs.length > 0) {
        const error = `The certificates of "${name}" are not usable: ${pairs.join("; ")}. Run "tsm regenerate-certs ${name}"`;
        return { name, driverName: result.record.driver.name, state: "Error", url: "", dockerVersion: "", error, responseMs: 0, record: result.record };
      }
      return probeMachine(session, result.record, { timeoutMs: options.timeoutMs, stateOnly: options.quiet });
    }),
  );
  // A machine removed while it was read (rm renames its directory away first) is not a row
  // either: its errors (certificates gone mid-read) say nothing about a machine that exists.
  const stillPresent = await Promise.all(probes.map(async (p) => (p.state !== "Error" && p.error === "") || (await session.store.exists(p.name))));
  const kept = probes.filter((p, i) => stillPresent[i] && matchesState(filters, p.state));
  return { names: kept.map((p) => p.name), rows: kept.map((p) => toRow(p, session.env.DOCKER_HOST)) };
}

/** The one command that finishes an interrupted create: provisioning where tsm manages the engine, else the certificates (the only step left). */
async function finishCommand(session: Session, record: MachineRecord): Promise<string> {
  let provisionable = false;
  try {
    provisionable = (await openRecord(session, record)).driver.features.provisionable;
  } catch {
    // A driver that cannot even be opened: rm is the way out, regenerate-certs will say why.
  }
  return `tsm ${provisionable ? "provision" : "regenerate-certs"} ${record.name}`;
}

/** `found`: the active machine; `timedOut`: the candidate that did not answer in time; neither: no active machine. */
export interface ActiveResult {
  found?: string;
  timedOut?: string;
}

/**
 * The machine $DOCKER_HOST points at, if it runs. Only machines with that URL are
 * probed (state only), each bounded by the timeout; a candidate that does not
 * answer in time ends the search as `timedOut`.
 */
export async function activeMachine(session: Session, timeoutMs: number): Promise<ActiveResult> {
  const dockerHost = session.env.DOCKER_HOST;
  if (!dockerHost) return {};
  const names = await session.store.list();
  const records = (await Promise.all(names.map((n) => session.store.tryLoad(n)))).flatMap((r) => (r.ok ? [r.record] : []));
  const matches = await Promise.all(
    records.map(async (record) => {
      try {
        const machine = await openRecord(session, record);
        return (await machine.driver.getUrl(opContext(session, record.name))) === dockerHost ? record : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  for (const record of matches) {
    if (!record) continue;
    const probe = await probeMachine(session, record, { timeoutMs, stateOnly: true });
    if (probe.state === "Timeout") return { timedOut: record.name };
    if (probe.state === "Running") return { found: record.name };
  }
  return {};
}

/**
 * `tsm ls`: every machine with its live state, URL and engine version, probed
 * concurrently and each bounded by --timeout. `-q` without filters only reads
 * the directory names, so it stays as fast as listing a directory.
 */
import type { Command } from "commander";
import { hasAnyFilter, matchesState, matchesStatic, parseFilters } from "../../core/ls-filter.js";
import { probeMachine, type ProbeResult } from "../../core/probe.js";
import { UsageError } from "../../model/errors.js";
import type { Session } from "../../core/session.js";
import { splitTableFormat, unescapeFormat } from "../../output/go-template.js";
import { compileTemplate } from "../template.js";
import { tabwrite } from "../../output/tabwriter.js";
import type { CliContext } from "../context.js";
import { collect } from "../driver-flags.js";

export const DEFAULT_LS_FORMAT =
  "table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}";

/** Header cell for each row field (Docker Machine's ls header map). */
export const LS_HEADERS: Readonly<Record<string, string>> = {
  Name: "NAME",
  Active: "ACTIVE",
  ActiveHost: "ACTIVE_HOST",
  ActiveSwarm: "ACTIVE_SWARM",
  DriverName: "DRIVER",
  State: "STATE",
  URL: "URL",
  Swarm: "SWARM",
  SwarmOptions: "SWARM_OPTIONS",
  EngineOptions: "ENGINE_OPTIONS",
  Error: "ERRORS",
  DockerVersion: "DOCKER",
  ResponseTime: "RESPONSE",
};

interface LsOptions {
  quiet?: boolean;
  filter?: string[];
  timeout: string;
  format?: string;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, "")}s`;
}

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

function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`Invalid --timeout ${JSON.stringify(value)}: expected a number of seconds above 0`);
  return seconds * 1000;
}

export function renderRows(rows: readonly LsRow[], format: string): string {
  const { table, body } = splitTableFormat(unescapeFormat(format));
  const template = compileTemplate(body);
  let text = rows.map((r) => `${template.render(r)}\n`).join("");
  if (table) {
    text = `${template.render(LS_HEADERS)}\n${text}`;
    return tabwrite(text);
  }
  return text;
}

async function listRows(session: Session, opts: LsOptions): Promise<{ names: string[]; rows?: LsRow[] }> {
  const filters = parseFilters(opts.filter ?? []);
  const timeoutMs = parseTimeout(opts.timeout);
  const names = await session.store.list();
  if (opts.quiet && !hasAnyFilter(filters)) return { names };
  const loaded = await Promise.all(names.map(async (name) => ({ name, result: await session.store.tryLoad(name) })));
  const candidates = loaded.filter(({ name, result }) => matchesStatic(filters, name, result.ok ? result.record : undefined));
  const needsProbe = !opts.quiet || filters.state.length > 0;
  const probes = await Promise.all(
    candidates.map(async ({ name, result }): Promise<ProbeResult> => {
      if (!result.ok) {
        return { name, driverName: "unknown", state: "Error", url: "", dockerVersion: "", error: result.error.message, responseMs: 0 };
      }
      if (!needsProbe) {
        return { name, driverName: result.record.driver.name, state: "", url: "", dockerVersion: "", error: "", responseMs: 0, record: result.record };
      }
      return probeMachine(session, result.record, { timeoutMs, stateOnly: opts.quiet === true });
    }),
  );
  const kept = probes.filter((p) => matchesState(filters, p.state));
  return { names: kept.map((p) => p.name), rows: kept.map((p) => toRow(p, session.env.DOCKER_HOST)) };
}

export function registerLs(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("List machines")
    .option("-q, --quiet", "print only machine names")
    .option("--filter <key=value>", "filter by driver, state, name (regexp), label or swarm (repeatable)", collect)
    .option("-t, --timeout <seconds>", "how long to wait for each machine", "10")
    .option("-f, --format <template>", "Go template for each row; a 'table' prefix adds a header")
    .action(async (opts: LsOptions, command: Command) => {
      const session = ctx.session(command);
      if (command.args.length > 0) throw new UsageError(`ls takes no arguments (got ${JSON.stringify(command.args)}); use --filter name=REGEXP`);
      if (opts.format !== undefined) compileTemplate(splitTableFormat(unescapeFormat(opts.format)).body);
      const { names, rows } = await listRows(session, opts);
      if (opts.quiet) {
        session.io.out(names.map((n) => `${n}\n`).join(""));
        return;
      }
      session.io.out(renderRows(rows ?? [], opts.format ?? DEFAULT_LS_FORMAT));
    });
}

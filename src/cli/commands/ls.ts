/**
 * `tsm ls`: every machine with its live state, URL and engine version (rows from
 * core/list.ts), as a table or through a Go template. `-q` prints names only.
 */
import type { Command } from "commander";
import { listMachines, type LsRow } from "../../core/list.js";
import { parseFilters } from "../../core/ls-filter.js";
import { throwIfAborted } from "../../model/abort.js";
import { UsageError } from "../../model/errors.js";
import { splitTableFormat, unescapeFormat } from "../../output/go-template.js";
import { compileTemplate } from "../support/template.js";
import { tabwrite } from "../../output/tabwriter.js";
import type { CliContext } from "../support/context.js";
import { collect } from "../support/driver-flags.js";

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
      const filters = parseFilters(opts.filter ?? []);
      const { names, rows } = await listMachines(session, { quiet: opts.quiet === true, filters, timeoutMs: parseTimeout(opts.timeout) });
      // Interrupted probes give rows that say "cancelled": not a listing to print as if complete.
      throwIfAborted(session.signal, "listing machines");
      if (opts.quiet) {
        session.io.out(names.map((n) => `${n}\n`).join(""));
        return;
      }
      session.io.out(renderRows(rows ?? [], opts.format ?? DEFAULT_LS_FORMAT));
    });
}

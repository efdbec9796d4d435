/**
 * `tsm scp [-r] [-d] [-q] SOURCE TARGET`, each `[[user@]machine:]path` (Docker Machine's
 * syntax and flags; `localhost:` or no prefix means a local path). Local to machine,
 * machine to local through OpenSSH's scp when installed, and machine to machine; `-d`
 * copies with rsync over the same pinned ssh (core/copy.ts).
 */
import type { Command } from "commander";
import type { CopyLocation } from "../../core/copy.js";
import { UsageError } from "../../model/errors.js";
import { validateMachineName } from "../../model/name.js";
import type { CliContext } from "../support/context.js";

export type ScpLocation = CopyLocation;

/** Splits `[[user@]machine:]path`. A colon after a slash belongs to the path (`./a:b`), as in scp. */
export function parseScpLocation(arg: string): ScpLocation {
  const m = /^(?:([^@/:]+)@)?([^@/:]+):(.*)$/.exec(arg);
  if (!m) return { path: arg };
  const [, user, machine, path] = m;
  if (machine === "localhost") return { path: path! };
  validateMachineName(machine!);
  if (user !== undefined && !/^[a-zA-Z_][a-zA-Z0-9_.-]*$/.test(user)) throw new UsageError(`Invalid user ${JSON.stringify(user)} in ${JSON.stringify(arg)}`);
  // SFTP paths are relative to the login directory and know no "~".
  const p = path!.replace(/^~\/?/, "");
  return { machine, user, path: p === "" ? "." : p };
}

export function registerScp(program: Command, ctx: CliContext): void {
  program
    .command("scp")
    .description("Copy files between machines and this computer: [[user@]machine:]path")
    .argument("<source>")
    .argument("<target>")
    .option("-r, --recursive", "copy directories recursively")
    .option("-d, --delta", "copy only the differences, with rsync over ssh (rsync and OpenSSH's ssh must be installed)")
    .option("-q, --quiet", "no progress output from scp or rsync")
    .action(async (source: string, target: string, opts: { recursive?: boolean; delta?: boolean; quiet?: boolean }, command: Command) => {
      const session = ctx.session(command);
      if (command.args.length !== 2) throw new UsageError("tsm scp takes exactly a source and a target");
      const from = parseScpLocation(source);
      const to = parseScpLocation(target);
      const { copyFiles } = await import("../../core/copy.js");
      await copyFiles(session, from, to, { recursive: opts.recursive === true, delta: opts.delta === true, quiet: opts.quiet === true });
    });
}

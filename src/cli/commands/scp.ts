/**
 * `tsm scp [-r] SOURCE TARGET`, each `[[user@]machine:]path` (Docker Machine's
 * syntax; `localhost:` or no prefix means a local path). Local to machine,
 * machine to local, and machine to machine (through a local temporary copy).
 */
import type { Command } from "commander";
import { UsageError } from "../../model/errors.js";
import { validateMachineName } from "../../model/name.js";
import { openMachine, type Machine } from "../../core/open.js";
import type { Session } from "../../core/session.js";
import type { SshSession } from "../../ssh/client.js";
import type { CliContext } from "../context.js";

export interface ScpLocation {
  machine?: string;
  user?: string;
  path: string;
}

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

async function connect(session: Session, loc: ScpLocation): Promise<{ machine: Machine; ssh: SshSession }> {
  const machine = await openMachine(session, loc.machine!);
  const { connectMachine } = await import("../../core/ssh-access.js");
  if (loc.user) {
    // Same host and key, another login: wrap the driver's endpoint.
    const driver = machine.driver;
    const endpoint = await driver.getSshEndpoint({ signal: session.signal, log: () => undefined, debug: () => undefined });
    const userDriver = Object.create(driver) as typeof driver;
    userDriver.getSshEndpoint = async () => ({ ...endpoint, user: loc.user! });
    const ssh = await connectMachine(session, { ...machine, driver: userDriver }, {});
    return { machine, ssh };
  }
  return { machine, ssh: await connectMachine(session, machine, {}) };
}

export function registerScp(program: Command, ctx: CliContext): void {
  program
    .command("scp")
    .description("Copy files between machines and this computer: [[user@]machine:]path")
    .argument("<source>")
    .argument("<target>")
    .option("-r, --recursive", "copy directories recursively")
    .action(async (source: string, target: string, opts: { recursive?: boolean }, command: Command) => {
      const session = ctx.session(command);
      if (command.args.length !== 2) throw new UsageError("tsm scp takes exactly a source and a target");
      const from = parseScpLocation(source);
      const to = parseScpLocation(target);
      const recursive = opts.recursive === true;
      if (!from.machine && !to.machine) throw new UsageError("Neither the source nor the target names a machine: use MACHINE:PATH on one side");
      if (from.machine && to.machine) {
        const { mkdtemp, rm } = await import("node:fs/promises");
        const os = await import("node:os");
        const path = await import("node:path");
        const tmp = await mkdtemp(path.join(os.tmpdir(), "tsm-scp-"));
        const a = await connect(session, from);
        try {
          const local = path.join(tmp, path.posix.basename(from.path.replace(/\/+$/, "")) || "root");
          await a.ssh.download(from.path, local, { recursive });
          const b = await connect(session, to);
          try {
            await b.ssh.upload(local, to.path, { recursive });
          } finally {
            b.ssh.close();
          }
        } finally {
          a.ssh.close();
          await rm(tmp, { recursive: true, force: true });
        }
        return;
      }
      const remote = from.machine ? from : to;
      const { ssh } = await connect(session, remote);
      try {
        if (from.machine) await ssh.download(from.path, to.path, { recursive });
        else await ssh.upload(from.path, to.path, { recursive });
      } finally {
        ssh.close();
      }
    });
}

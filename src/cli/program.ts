/**
 * The command tree. Each verb lives in its own module under ./commands and
 * registers itself here from an explicit list; actions receive a lazily built
 * Session, so `--storage-path` and `--debug` apply wherever they appear.
 */
import { Command, Option } from "commander";
import { createSession, type Session } from "../core/session.js";
import { versionLine } from "./support/build-info.js";
import { isDebug, type CliContext, type ProgramDeps } from "./support/context.js";
import { registerActive } from "./commands/active.js";
import { registerConfig } from "./commands/config.js";
import { registerCreate } from "./commands/create.js";
import { registerEnv } from "./commands/env.js";
import { registerInspect } from "./commands/inspect.js";
import { registerIp } from "./commands/ip.js";
import { registerLogs } from "./commands/logs.js";
import { registerLs } from "./commands/ls.js";
import { registerPower } from "./commands/power.js";
import { registerRegenerateCerts } from "./commands/regenerate-certs.js";
import { registerRm } from "./commands/rm.js";
import { registerStatus } from "./commands/status.js";
import { registerUrl } from "./commands/url.js";
import { registerVersion } from "./commands/version.js";
import { registerProvision } from "./commands/provision.js";
import { registerMount } from "./commands/mount.js";
import { registerScp } from "./commands/scp.js";
import { registerSsh } from "./commands/ssh.js";
import { registerSshTrust } from "./commands/ssh-trust.js";
import { registerUpgrade } from "./commands/upgrade.js";

export function createProgram(deps: ProgramDeps): Command {
  const program = new Command("tsm");
  program
    .description("Create and manage Docker hosts: local VMs and SSH servers with mutual-TLS Docker engines")
    .version(versionLine(), "-v, --version", "print the tsm version")
    .addOption(new Option("-s, --storage-path <path>", "where tsm keeps certificates and machines (default: ~/.tsm)").env("TSM_STORAGE_PATH"))
    .addOption(new Option("-D, --debug", "show debug output and error details").env("TSM_DEBUG"))
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.io.out(s),
      writeErr: (s) => deps.io.err(s),
      // main.ts prints command-line errors in tsm's one-line format.
      outputError: () => undefined,
    });

  let session: Session | undefined;
  const ctx: CliContext = {
    deps,
    session(cmd: Command): Session {
      if (session) return session;
      const { storagePath } = cmd.optsWithGlobals<{ storagePath?: string }>();
      session = createSession(deps, { storagePath, debug: isDebug(deps.argv, deps.env) });
      return session;
    },
  };

  for (const register of [
    registerActive,
    registerConfig,
    registerCreate,
    registerEnv,
    registerInspect,
    registerIp,
    registerLogs,
    registerLs,
    registerMount,
    registerPower,
    registerProvision,
    registerRegenerateCerts,
    registerRm,
    registerScp,
    registerSsh,
    registerSshTrust,
    registerStatus,
    registerUpgrade,
    registerUrl,
    registerVersion,
  ]) {
    register(program, ctx);
  }
  for (const cmd of program.commands) {
    // Each command checks its own argument count, with tsm's messages.
    cmd.allowExcessArguments(true);
    cmd.exitOverride().configureOutput({
      writeOut: (s) => deps.io.out(s),
      writeErr: (s) => deps.io.err(s),
      outputError: () => undefined,
    });
  }
  return program;
}

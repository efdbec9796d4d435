/**
 * The command tree. Each verb lives in its own module under ./commands and
 * registers itself here from an explicit list; actions receive a lazily built
 * Session, so `--storage-path` and `--debug` apply wherever they appear.
 */
import { Command, Option } from "commander";
import { createSession, type Session } from "../core/session.js";
import { UsageError } from "../model/errors.js";
import { parseBool } from "./support/driver-flags.js";
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
import { registerUse } from "./commands/use.js";
import { registerCompletion } from "./commands/completion.js";

export function createProgram(deps: ProgramDeps): Command {
  const name = deps.compat === "docker-machine" ? "docker-machine" : "tsm";
  const program = new Command(name);
  program
    .description("Create and manage Docker hosts: local VMs and SSH servers with mutual-TLS Docker engines")
    .version(versionLine(), "-v, --version", "print the tsm version")
    .addOption(new Option("-s, --storage-path <path>", "where tsm keeps certificates and machines (default: ~/.tsm)").env("TSM_STORAGE_PATH"))
    .addOption(new Option("-D, --debug", "show debug output and error details (env: TSM_DEBUG, MACHINE_DEBUG)").env("TSM_DEBUG"))
    // Docker Machine's global flags (their MACHINE_* variables are read in globalSettings()).
    .addOption(new Option("--native-ssh", "use the built-in SSH client even where OpenSSH is installed (env: TSM_NATIVE_SSH, MACHINE_NATIVE_SSH)"))
    .addOption(new Option("--tls-ca-cert <file>", "CA certificate to sign server certificates with, instead of the store's (env: MACHINE_TLS_CA_CERT)"))
    .addOption(new Option("--tls-ca-key <file>", "private key of --tls-ca-cert; read, never copied (env: MACHINE_TLS_CA_KEY)"))
    .addOption(new Option("--tls-client-cert <file>", "client certificate signed by --tls-ca-cert (env: MACHINE_TLS_CLIENT_CERT)"))
    .addOption(new Option("--tls-client-key <file>", "private key of --tls-client-cert (env: MACHINE_TLS_CLIENT_KEY)"))
    .addOption(new Option("--github-api-token <token>", "accepted for Docker Machine's scripts; tsm makes no GitHub API calls (env: MACHINE_GITHUB_API_TOKEN)"))
    .addOption(new Option("--bugsnag-api-token <token>", "accepted for Docker Machine's scripts; tsm sends no crash reports (env: MACHINE_BUGSNAG_API_TOKEN)"))
    .helpCommand(false)
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
      const g = globalSettings(cmd.optsWithGlobals<GlobalFlags>(), deps.env);
      session = createSession(deps, { storagePath: g.storagePath, debug: isDebug(deps.argv, deps.env), compat: deps.compat ?? "tsm", nativeSsh: g.nativeSsh, tls: g.tls });
      for (const token of g.ignoredTokens) if (session.debug) deps.io.err(`DBG | ${token} is accepted for Docker Machine's sake and ignored: tsm does not use it\n`);
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
    registerUse,
    registerVersion,
    registerCompletion,
  ]) {
    register(program, ctx);
  }
  // `help [command]` (alias `h`, as in Docker Machine): an unknown command is an error, not the general help.
  program
    .command("help")
    .alias("h")
    .description("show help for a command")
    .argument("[command]", "the command")
    .action((topic: string | undefined) => {
      if (topic === undefined) return program.outputHelp();
      const sub = program.commands.find((c) => c.name() === topic || c.aliases().includes(topic));
      if (!sub) throw new UsageError(`No help for '${topic}': it is not a ${name} command. See '${name} --help'`);
      sub.outputHelp();
    });
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

interface GlobalFlags {
  storagePath?: string;
  nativeSsh?: boolean;
  tlsCaCert?: string;
  tlsCaKey?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
  githubApiToken?: string;
  bugsnagApiToken?: string;
}

/** The global options as the session takes them: a flag wins, then tsm's variable, then Docker Machine's. */
export function globalSettings(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>) {
  const pick = (flag: string | undefined, ...names: string[]) => flag || names.map((n) => env[n]).find((v) => v !== undefined && v !== "") || undefined;
  const boolVar = (...names: string[]) => {
    const n = names.find((x) => env[x] !== undefined && env[x] !== "");
    return n === undefined ? false : parseBool(n, env[n]!);
  };
  const tls = {
    caCert: pick(flags.tlsCaCert, "MACHINE_TLS_CA_CERT"),
    caKey: pick(flags.tlsCaKey, "MACHINE_TLS_CA_KEY"),
    clientCert: pick(flags.tlsClientCert, "MACHINE_TLS_CLIENT_CERT"),
    clientKey: pick(flags.tlsClientKey, "MACHINE_TLS_CLIENT_KEY"),
  };
  const ignoredTokens: string[] = [];
  if (pick(flags.githubApiToken, "MACHINE_GITHUB_API_TOKEN")) ignoredTokens.push("--github-api-token");
  if (pick(flags.bugsnagApiToken, "MACHINE_BUGSNAG_API_TOKEN")) ignoredTokens.push("--bugsnag-api-token");
  return {
    storagePath: flags.storagePath,
    nativeSsh: flags.nativeSsh === true || boolVar("TSM_NATIVE_SSH", "MACHINE_NATIVE_SSH"),
    tls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
    ignoredTokens,
  };
}

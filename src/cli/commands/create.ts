/**
 * `tsm create [-d DRIVER] [flags] NAME`. The driver's own flags are added to
 * the command before parsing (Docker Machine's two-pass parse), so
 * `create -d none --help` lists them and unknown flags are refused.
 */
import { Option, type Command } from "commander";
import type { DriverDescriptor } from "../../model/driver.js";
import type { SwarmFlags } from "../../core/swarm.js";
import { PreCreateCheckError, UsageError } from "../../model/errors.js";
import { DEFAULT_INSTALL_URL } from "../../model/machine.js";
import { validateMachineName } from "../../model/name.js";
import type { CliContext } from "../context.js";
import { addFlags, collect, parseBool, readFlags } from "../driver-flags.js";

/** The `-d` value on this command line (after `create`), else TSM_DRIVER. */
export function scanDriverName(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string | undefined {
  const at = argv.findIndex((a, i) => a === "create" && argv[i - 1] !== "-s" && argv[i - 1] !== "--storage-path");
  if (at >= 0) {
    for (let i = at + 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--") break;
      if (a === "-d" || a === "--driver") return argv[i + 1];
      const m = /^(?:-d=?|--driver=)(.+)$/.exec(a);
      if (m) return m[1];
    }
  }
  return env.TSM_DRIVER || undefined;
}

interface CoreFlags extends SwarmFlags {
  driver?: string;
  engineInstallMethod: string;
  engineInstallUrl: string;
  engineBinaryUrl: string;
  engineOpt?: string[];
  engineInsecureRegistry?: string[];
  engineRegistryMirror?: string[];
  engineLabel?: string[];
  engineEnv?: string[];
  engineStorageDriver: string;
  tlsSan?: string[];
}

const LIST_FLAGS: ReadonlyArray<[keyof CoreFlags, string]> = [
  ["engineOpt", "TSM_ENGINE_OPT"],
  ["engineInsecureRegistry", "TSM_ENGINE_INSECURE_REGISTRY"],
  ["engineRegistryMirror", "TSM_ENGINE_REGISTRY_MIRROR"],
  ["engineLabel", "TSM_ENGINE_LABEL"],
  ["engineEnv", "TSM_ENGINE_ENV"],
  ["tlsSan", "TSM_TLS_SAN"],
  ["swarmOpt", "TSM_SWARM_OPT"],
];

const BOOL_FLAGS: ReadonlyArray<["swarm" | "swarmMaster" | "swarmManager", string]> = [
  ["swarm", "TSM_SWARM"],
  ["swarmMaster", "TSM_SWARM_MASTER"],
  ["swarmManager", "TSM_SWARM_MANAGER"],
];

function listOption(flags: string, description: string, env: string): Option {
  return new Option(flags, `${description} (repeatable)`).env(env).argParser(collect);
}

async function pickLocalDriver(ctx: CliContext, drivers: DriverDescriptor[]): Promise<DriverDescriptor> {
  const { deps } = ctx;
  for (const d of drivers.filter((x) => x.localVm)) {
    if (await d.isAvailable?.({ exec: deps.exec, env: deps.env, platform: deps.platform })) return d;
  }
  throw new PreCreateCheckError(
    `no local VM driver is usable on this host, so create needs -d. Drivers: ${drivers.map((d) => d.name).join(", ")}`,
  );
}

export function registerCreate(program: Command, ctx: CliContext): void {
  const { deps } = ctx;
  const driverName = scanDriverName(deps.argv, deps.env);
  const selected = driverName !== undefined && deps.drivers.has(driverName) ? deps.drivers.get(driverName) : undefined;
  const cmd = program
    .command("create")
    .description("Create a machine")
    .argument("[name]", "name of the new machine")
    .addOption(new Option("-d, --driver <driver>", `driver to create the machine with (${deps.drivers.names().join(", ")})`).env("TSM_DRIVER"))
    .addOption(
      new Option("--engine-install-method <method>", "how to install Docker Engine where it is missing: script, distro, binary or none")
        .env("TSM_ENGINE_INSTALL_METHOD")
        .default("script"),
    )
    .addOption(new Option("--engine-install-url <url>", "URL of the Docker install script (method script)").env("TSM_ENGINE_INSTALL_URL").default(DEFAULT_INSTALL_URL))
    .addOption(new Option("--engine-binary-url <url>", "URL of a static Docker binary tarball (method binary)").env("TSM_ENGINE_BINARY_URL").default(""))
    .addOption(listOption("--engine-opt <name=value>", "dockerd flag, passed as --name=value", "TSM_ENGINE_OPT"))
    .addOption(listOption("--engine-insecure-registry <registry>", "insecure registry for the engine", "TSM_ENGINE_INSECURE_REGISTRY"))
    .addOption(listOption("--engine-registry-mirror <url>", "registry mirror for the engine", "TSM_ENGINE_REGISTRY_MIRROR"))
    .addOption(listOption("--engine-label <key=value>", "engine label", "TSM_ENGINE_LABEL"))
    .addOption(listOption("--engine-env <NAME=value>", "environment variable for dockerd", "TSM_ENGINE_ENV"))
    .addOption(new Option("--engine-storage-driver <driver>", "engine storage driver (default: the distribution's)").env("TSM_ENGINE_STORAGE_DRIVER").default(""))
    .addOption(listOption("--tls-san <name>", "extra IP or DNS name for the server certificate", "TSM_TLS_SAN"))
    .addOption(new Option("--swarm-master", "start a Swarm mode cluster on this machine").env("TSM_SWARM_MASTER"))
    .addOption(new Option("--swarm", "join a Swarm mode cluster (with --swarm-join)").env("TSM_SWARM"))
    .addOption(new Option("--swarm-join <machine>", "the manager machine whose cluster to join").env("TSM_SWARM_JOIN"))
    .addOption(new Option("--swarm-manager", "join as a manager instead of a worker").env("TSM_SWARM_MANAGER"))
    .addOption(new Option("--swarm-addr <address>", "address other nodes reach this one at (default: the machine's)").env("TSM_SWARM_ADDR"))
    .addOption(listOption("--swarm-opt <key=value>", "Swarm mode setting: listen-addr, data-path-addr, availability, default-addr-pool, default-addr-pool-mask-length, data-path-port", "TSM_SWARM_OPT"));
  if (selected) {
    addFlags(cmd, selected.flags);
    cmd.description(`Create a machine with the ${selected.name} driver: ${selected.description}`);
  } else if (driverName !== undefined) {
    // Let the action report the unknown driver instead of failing on its flags.
    cmd.allowUnknownOption(true);
  } else {
    cmd.addHelpText("after", `\nDriver flags: tsm create -d DRIVER --help (drivers: ${deps.drivers.names().join(", ")})\n`);
  }

  cmd.action(async (name: string | undefined, _opts: unknown, command: Command) => {
    const session = ctx.session(command);
    const opts = command.opts<CoreFlags>();
    // An unknown driver first: its flags may have been taken for arguments.
    if (opts.driver !== undefined) deps.drivers.get(opts.driver);
    if (name === undefined) throw new UsageError("No machine name specified: tsm create [-d DRIVER] NAME");
    if (command.args.length > 1) throw new UsageError(`Invalid command line: extra arguments ${JSON.stringify(command.args.slice(1))}`);
    validateMachineName(name);
    for (const [key, env] of LIST_FLAGS) {
      if (command.getOptionValueSource(key) === "env") {
        (opts as unknown as Record<string, string[]>)[key] = (deps.env[env] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
      }
    }
    let descriptor: DriverDescriptor;
    if (opts.driver !== undefined) {
      descriptor = deps.drivers.get(opts.driver);
    } else {
      descriptor = await pickLocalDriver(ctx, deps.drivers.list());
      session.io.err(`No driver given: using ${descriptor.name}\n`);
    }
    if (!selected || selected.name !== descriptor.name) {
      // Flags were registered for another driver (or none): re-read with the right set.
      addFlags(command, descriptor.flags);
    }
    const driverFlags = readFlags(command, descriptor.flags, deps.env);
    // Loaded here, not at start-up: create is the only command that needs them.
    const { checkEngineEnv, checkEngineLabel, checkEngineOpt, checkInstallMethod, checkRegistry, checkStorageDriver, checkTlsSan, checkUrl } =
      await import("../../core/engine-options.js");
    const { createMachine } = await import("../../core/lifecycle.js");
    const { swarmRequest } = await import("../../core/swarm.js");
    // commander sets a boolean from its variable whatever the value; "0" and "false" must mean false.
    for (const [key, env] of BOOL_FLAGS) {
      if (command.getOptionValueSource(key) === "env") opts[key] = parseBool(env, deps.env[env] ?? "");
    }
    const swarm = swarmRequest(opts);
    if (swarm?.join !== undefined) validateMachineName(swarm.join);
    await createMachine(session, {
      name,
      driverName: descriptor.name,
      driverFlags,
      engine: {
        installMethod: checkInstallMethod(opts.engineInstallMethod, opts.engineBinaryUrl),
        installUrl: checkUrl("engine-install-url", opts.engineInstallUrl),
        binaryUrl: opts.engineBinaryUrl === "" ? "" : checkUrl("engine-binary-url", opts.engineBinaryUrl),
        opts: (opts.engineOpt ?? []).map(checkEngineOpt),
        env: (opts.engineEnv ?? []).map(checkEngineEnv),
        labels: (opts.engineLabel ?? []).map(checkEngineLabel),
        insecureRegistries: (opts.engineInsecureRegistry ?? []).map((r) => checkRegistry("engine-insecure-registry", r)),
        registryMirrors: (opts.engineRegistryMirror ?? []).map((r) => checkRegistry("engine-registry-mirror", r)),
        storageDriver: checkStorageDriver(opts.engineStorageDriver),
      },
      tlsSans: (opts.tlsSan ?? []).map(checkTlsSan),
      swarm,
    });
  });
}

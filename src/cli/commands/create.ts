/**
 * `tsm create [-d DRIVER] [flags] NAME`. The driver's own flags are added to
 * the command before parsing (Docker Machine's two-pass parse), so
 * `create -d none --help` lists them and unknown flags are refused.
 */
import { Option, type Command } from "commander";
import type { DriverDescriptor } from "../../model/driver.js";
import { CREATE_OPTIONS } from "../../core/create-options.js";
import { PreCreateCheckError, UsageError } from "../../model/errors.js";
import { validateMachineName } from "../../model/name.js";
import type { CliContext } from "../support/context.js";
import { addFlags, optionInput } from "../support/driver-flags.js";

/** The `-d` value on this command line (after `create`), else TSM_DRIVER, else Docker Machine's MACHINE_DRIVER. */
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
  return env.TSM_DRIVER || env.MACHINE_DRIVER || undefined;
}

/**
 * Docker Machine's legacy standalone-Swarm flags: tsm builds Swarm mode clusters instead,
 * so each is refused with one line saying what to use (not "unknown option").
 */
export const LEGACY_SWARM_FLAGS = [
  { flag: "swarm-discovery", value: true },
  { flag: "swarm-image", value: true },
  { flag: "swarm-strategy", value: true },
  { flag: "swarm-host", value: true },
  { flag: "swarm-join-opt", value: true },
  { flag: "swarm-experimental", value: false },
] as const;

export function legacySwarmError(flag: string): UsageError {
  return new UsageError(
    `--${flag} belongs to Docker Machine's legacy standalone Swarm, which tsm does not run: use Swarm mode instead (--swarm-master for a manager, --swarm --swarm-join MANAGER for a node)`,
  );
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
    .addOption(new Option("-d, --driver <driver>", `driver to create the machine with (${deps.drivers.names().join(", ")})`).env("TSM_DRIVER"));
  addFlags(cmd, CREATE_OPTIONS.flags);
  cmd.option("--activate", "make the new machine's Docker context (tsm-NAME) the current one, as tsm use does");
  for (const l of LEGACY_SWARM_FLAGS) cmd.addOption(new Option(l.value ? `--${l.flag} <value>` : `--${l.flag}`).hideHelp());
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
    const given = command.opts<{ driver?: string; activate?: boolean }>();
    // -d, else TSM_DRIVER (commander), else Docker Machine's MACHINE_DRIVER.
    const opts = { driver: given.driver ?? (deps.env.MACHINE_DRIVER || undefined) };
    // An unknown driver first: its flags may have been taken for arguments.
    if (opts.driver !== undefined) deps.drivers.get(opts.driver);
    const legacy = LEGACY_SWARM_FLAGS.find((l) => command.getOptionValueSource(new Option(`--${l.flag}`).attributeName()) === "cli");
    if (legacy) throw legacySwarmError(legacy.flag);
    if (name === undefined) throw new UsageError("No machine name specified: tsm create [-d DRIVER] NAME");
    if (command.args.length > 1) throw new UsageError(`Invalid command line: extra arguments ${JSON.stringify(command.args.slice(1))}`);
    validateMachineName(name);
    if (given.activate && (await import("../../core/context-sync.js")).contextsDisabled(deps.env)) throw new UsageError("--activate needs Docker contexts, which TSM_NO_CONTEXTS turns off");
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
    // Loaded here, not at start-up: create is the only command that needs them.
    const { readCreateOptions } = await import("../../core/create-options.js");
    const { createMachine } = await import("../../core/lifecycle.js");
    const request = await readCreateOptions(optionInput(command, CREATE_OPTIONS.flags, deps.env));
    await createMachine(session, {
      name,
      driverName: descriptor.name,
      driverOptions: optionInput(command, descriptor.flags, deps.env),
      ...request,
    });
    if (given.activate) await (await import("./use.js")).useMachine(session, name);
  });
}

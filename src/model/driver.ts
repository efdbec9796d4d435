/**
 * The driver contract. Core code talks to machines only through these types;
 * drivers live in `drivers/<name>/` and are registered from an explicit list in
 * the composition root (src/cli/main.ts). A descriptor is cheap to import
 * (flags and schemas only); the implementation is loaded by `open`, so commands
 * that never touch a machine's driver never pay for it.
 */
import type { DriverFlag, OptionInput } from "./options.js";
import type { Exec, ProgressSink, Remote } from "./seams.js";

/** Docker Machine's state names, which `status` prints and `ls --filter state=` matches. */
export type MachineState =
  | "Running"
  | "Paused"
  | "Saved"
  | "Stopped"
  | "Stopping"
  | "Starting"
  | "Error"
  | "Timeout"
  | "";

export const MACHINE_STATES: readonly MachineState[] = [
  "Running",
  "Paused",
  "Saved",
  "Stopped",
  "Stopping",
  "Starting",
  "Error",
  "Timeout",
];

export interface DriverFeatures {
  /** false for `none` and `generic`: the host is not tsm's to power on or off. */
  readonly powerControl: boolean;
  /** true when provisioning over SSH applies (generic, VMs); false for `none`. */
  readonly provisionable: boolean;
  /** true for VMs booted with a cloud-init seed: provisioning first waits for cloud-init to finish. */
  readonly firstBoot?: boolean;
}

/** Per-call context: cancellation and progress. */
export interface OpContext {
  readonly signal: AbortSignal;
  /** A progress line for the user (stderr). */
  log(line: string): void;
  /** A detail line shown only with --debug. */
  debug(line: string): void;
  /** Where live progress (a download bar) may be drawn; absent in tests and quiet contexts. */
  readonly display?: { readonly progress: ProgressSink; readonly isTty: boolean };
}

/** A network the store's machines share, whose addresses tsm hands out (no DHCP on it). */
export interface LeaseNetwork {
  /** Stable id, also the lease directory's name (e.g. "qemu-network"). */
  readonly name: string;
  /** For messages: "QEMU network". */
  readonly description: string;
  /** The first three octets, "192.168.127". */
  readonly prefix: string;
  readonly prefixLength: number;
  /** The range of last octets handed out. */
  readonly first: number;
  readonly last: number;
}

/** Address leases for one machine. Concurrent creates never get the same address. */
export interface AddressLeases {
  /** The lowest free address of `network` (the machine's own when it holds one). Throws NETWORK_FULL. */
  lease(network: LeaseNetwork): Promise<string>;
  /** Gives back every address the machine holds on `network`; resolves when it holds none. */
  release(network: LeaseNetwork): Promise<void>;
}

/** What a driver may use from its surroundings: it never reads the store's layout itself. */
export interface DriverHost {
  readonly machineName: string;
  /** `<store>/machines/<name>`: the driver may keep files here. */
  readonly machineDir: string;
  /** The store's root, shown as Docker Machine's `StorePath` and mixed into per-store ids (MACs, groups). */
  readonly storeRoot: string;
  /** `<store>/cache`: shared, rebuildable files (images, converted disks); a driver uses a sub-directory of its own. */
  readonly cacheDir: string;
  readonly leases: AddressLeases;
  readonly exec: Exec;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs `fn` over one SSH connection to this machine (host key pinned and checked by core). */
  withRemote<T>(ctx: OpContext, fn: (remote: Remote) => Promise<T>): Promise<T>;
}

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Empty when the agent or the user's default keys are to be used. */
  privateKeyPath: string;
}

export interface Driver {
  readonly name: string;
  readonly features: DriverFeatures;
  /** Checks that must pass before anything is written (binaries present, address valid...). Throws PreCreateCheckError. */
  preCreateCheck(ctx: OpContext): Promise<void>;
  /** Brings the machine into existence and running. Runs after the record is saved, so a failure leaves a removable record. */
  create(ctx: OpContext): Promise<void>;
  /** Never throws for an unreachable machine: that is a state. Bounded by ctx.signal. */
  getState(ctx: OpContext): Promise<MachineState>;
  /**
   * The address clients use to reach the machine (IP or host name), from local
   * state only (record, pid files): never waits on the network, so `env` stays fast.
   * Throws MachineStateError when the machine is known not to run.
   */
  getIp(ctx: OpContext): Promise<string>;
  /** The engine endpoint as `tcp://host:port`; local state only, like getIp. */
  getUrl(ctx: OpContext): Promise<string>;
  /**
   * The address other machines reach this one at, when it differs from getIp (a VM whose
   * clients use a port forward on 127.0.0.1): swarm advertises it, and the server
   * certificate names it too.
   */
  getPeerIp?(ctx: OpContext): Promise<string>;
  /**
   * The guest's SSH host key ("<type> SHA256:<b64>") when the driver gave it to the guest
   * itself (a VM's first-boot seed): core pins it before the first connection, so even the
   * first contact is verified. Known after create.
   */
  expectedHostKey?(): string | undefined;
  /** The machine's serial console log file (VMs), for `tsm logs`. */
  consoleLogPath?(): string;
  /**
   * Powers the machine on and waits until SSH answers. A driver may update its settings
   * (a new address); core saves `config()` afterwards and re-issues the server certificate
   * when getIp() is no longer among its names.
   */
  start(ctx: OpContext): Promise<void>;
  stop(ctx: OpContext): Promise<void>;
  kill(ctx: OpContext): Promise<void>;
  restart(ctx: OpContext): Promise<void>;
  /**
   * Deletes what the driver created (VM, disks). Resolves when it is already gone.
   * Hosts tsm did not create (generic) are left alone, unless `cleanHost` asks
   * to remove what tsm installed on them (daemon configuration, certificates).
   */
  remove(ctx: OpContext, options?: { cleanHost?: boolean }): Promise<void>;
  /** Where to reach the host over SSH (from local state only). Throws NotSupportedError for drivers without SSH (none). */
  getSshEndpoint(ctx: OpContext): Promise<SshEndpoint>;
  /** JSON-safe settings to persist in the record's `driver.config`. */
  config(): Record<string, unknown>;
  /**
   * The Docker Machine-shaped `Driver` object shown by `inspect` (`IPAddress`,
   * `MachineName`, `SSHUser`, `SSHPort`, `SSHKeyPath`, `StorePath`, plus driver specifics).
   */
  inspectView(): Record<string, unknown>;
}

export type { DriverFlag, FlagType } from "./options.js";

/** What `create` learns from a driver's flags. */
export interface DriverCreateSettings {
  config: Record<string, unknown>;
  /** The port dockerd will listen on inside the host. */
  enginePort: number;
}

export interface DriverDescriptor {
  readonly name: string;
  readonly description: string;
  /** Local VM drivers are candidates for `create` without `-d`. */
  readonly localVm: boolean;
  /** The driver's `create` flags: its option declarations' flags (see model/options.ts). */
  readonly flags: readonly DriverFlag[];
  /** For local VM drivers: is the hypervisor usable on this host? */
  isAvailable?(host: { exec: Exec; env: Readonly<Record<string, string | undefined>>; platform: NodeJS.Platform }): Promise<boolean>;
  /**
   * Reads the driver's options from the command line and the environment (one reader:
   * OptionSet.read) into the config to store. Throws UsageError naming every bad value.
   */
  settingsFromFlags(input: OptionInput): DriverCreateSettings;
  /** Validates a stored `driver.config`; returns a one-line problem description, or undefined when valid. */
  checkConfig(config: Record<string, unknown>): string | undefined;
  /** Builds the driver for a machine. May import heavy modules. */
  open(config: Record<string, unknown>, host: DriverHost): Promise<Driver>;
}

/**
 * The `generic` driver: an existing server reachable over SSH. tsm does not
 * own the host's power (no start/stop/kill); `restart` reboots it over SSH
 * and waits for it to come back. Provisioning (Docker Engine with TLS) is
 * done by core over SSH, as for every managed host.
 */
import * as z from "zod/mini";
import path from "node:path";
import type { Driver, DriverDescriptor, DriverHost, MachineState, OpContext, SshEndpoint } from "../../src/model/driver.js";
import { NotSupportedError, PreCreateCheckError, TsmError } from "../../src/model/errors.js";
import { baseDriverView } from "../../src/model/inspect-base.js";
import { defineOptions, intOption, schemaProblems, stringOption, type OptionValues } from "../../src/model/options.js";
import { isHostAddress } from "../../src/model/address.js";
import { sleep, throwIfAborted } from "../../src/model/abort.js";
import { DEFAULT_ENGINE_PORT } from "../../src/model/machine.js";

const USER_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;

const ADDRESS_EXPECTED = "expected an IP address or a host name";

const port = (flag: string, env: string, help: string, fallback: number) =>
  intOption({ flag, env, help, default: fallback, min: 1, max: 65535, expected: "a port number (1-65535)" });

/** The generic driver's options; the stored config is exactly their values. */
const OPTIONS = defineOptions({
  ipAddress: stringOption({
    flag: "generic-ip-address",
    env: "GENERIC_IP_ADDRESS",
    help: "IP address or host name of the server (required)",
    required: "The generic driver needs --generic-ip-address (or GENERIC_IP_ADDRESS)",
    check: (v) => (isHostAddress(v.trim()) ? undefined : ADDRESS_EXPECTED),
    map: (v) => v.trim(),
  }),
  sshUser: stringOption({
    flag: "generic-ssh-user",
    env: "GENERIC_SSH_USER",
    help: "SSH user (root, or a user with passwordless sudo)",
    default: "root",
    check: (v) => (USER_NAME.test(v) ? undefined : "expected a user name (letters, digits, '_', '.' and '-')"),
  }),
  /** The key given with --generic-ssh-key, made absolute; "" = ssh-agent and the user's default keys. */
  sshKeyPath: stringOption({ flag: "generic-ssh-key", env: "GENERIC_SSH_KEY", help: "SSH private key (default: ssh-agent and ~/.ssh keys)", map: (v) => path.resolve(v) }),
  sshPort: port("generic-ssh-port", "GENERIC_SSH_PORT", "SSH port", 22),
  enginePort: port("generic-engine-port", "GENERIC_ENGINE_PORT", "Docker engine TLS port", DEFAULT_ENGINE_PORT),
});
let schema: z.ZodMiniType<GenericConfig> | undefined;
const configSchema = () => (schema ??= z.object(OPTIONS.schemaShape()));
type GenericConfig = OptionValues<typeof OPTIONS.specs>;

/** A bounded TCP connect: the host is "Running" when its SSH port accepts a connection. */
async function tcpProbe(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

class GenericDriver implements Driver {
  readonly name = "generic";
  readonly features = { powerControl: false, provisionable: true } as const;

  constructor(
    private readonly settings: GenericConfig,
    private readonly host: DriverHost,
  ) {}

  async preCreateCheck(): Promise<void> {
    const key = this.settings.sshKeyPath;
    if (key === "") return;
    const { statSync } = await import("node:fs");
    let st;
    try {
      st = statSync(key);
    } catch {
      throw new PreCreateCheckError(`SSH key does not exist: ${JSON.stringify(key)}`);
    }
    if (!st.isFile()) throw new PreCreateCheckError(`SSH key is not a file: ${JSON.stringify(key)}`);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      throw new PreCreateCheckError(`Permissions ${(st.mode & 0o777).toString(8)} for ${JSON.stringify(key)} are too open: run chmod 600 ${JSON.stringify(key)}`);
    }
  }

  /** Nothing to create: the server exists. Provisioning follows in core. */
  async create(ctx: OpContext): Promise<void> {
    if (this.settings.sshKeyPath === "") ctx.log("No SSH key given: using ssh-agent and your default keys.");
  }

  async getState(ctx: OpContext): Promise<MachineState> {
    return (await tcpProbe(this.settings.ipAddress, this.settings.sshPort, 10_000, ctx.signal)) ? "Running" : "Stopped";
  }

  async getIp(): Promise<string> {
    return this.settings.ipAddress;
  }

  async getUrl(): Promise<string> {
    const h = this.settings.ipAddress;
    return `tcp://${h.includes(":") ? `[${h}]` : h}:${this.settings.enginePort}`;
  }

  async getSshEndpoint(): Promise<SshEndpoint> {
    return { host: this.settings.ipAddress, port: this.settings.sshPort, user: this.settings.sshUser, privateKeyPath: this.settings.sshKeyPath };
  }

  async start(): Promise<void> {
    throw new NotSupportedError(this.name, "start: the server is not tsm's to power on");
  }
  async stop(): Promise<void> {
    throw new NotSupportedError(this.name, "stop: the server is not tsm's to power off");
  }
  async kill(): Promise<void> {
    throw new NotSupportedError(this.name, "kill: the server is not tsm's to power off");
  }

  /**
   * Reboots the server and waits until it has really rebooted and SSH answers
   * again. The proof of a reboot is a marker in /run (a tmpfs, emptied at every
   * boot) that is gone: the kernel's boot id would not do, since a container
   * "server" shares its host's kernel.
   */
  async restart(ctx: OpContext): Promise<void> {
    const marker = `/run/tsm-reboot-${Date.now().toString(36)}`;
    await this.host.withRemote(ctx, async (remote) => {
      const sudo = remote.isRoot ? "" : "sudo -n ";
      const made = await remote.run(`${sudo}touch ${marker}`);
      if (made.exitCode !== 0) throw new TsmError("REBOOT", `Cannot prepare the reboot of ${this.host.machineName}: ${made.stderr.trim()}`);
      ctx.log("Rebooting the server...");
      // Detached from the SSH session (setsid), so closing the session cannot cancel it.
      await remote.run(`${sudo}setsid sh -c 'sleep 1; systemctl reboot || shutdown -r now || reboot' >/dev/null 2>&1 < /dev/null &`);
    });
    const deadline = Date.now() + 5 * 60_000;
    ctx.log("Waiting for the server to come back...");
    for (;;) {
      throwIfAborted(ctx.signal, "waiting for the server to reboot");
      if (Date.now() > deadline) throw new TsmError("REBOOT_TIMEOUT", `${this.host.machineName} did not come back within 5 minutes of the reboot`);
      await sleep(2000, ctx.signal, "waiting for the server to reboot");
      try {
        const rebooted = await this.host.withRemote(ctx, async (remote) => (await remote.run(`test -e ${marker}`)).exitCode === 1);
        if (rebooted) return;
      } catch {
        // still rebooting
      }
    }
  }

  async remove(ctx: OpContext, options: { cleanHost?: boolean } = {}): Promise<void> {
    if (!options.cleanHost) return;
    const { removeTsmConfig } = await import("../../src/provision/provisioner.js");
    await this.host.withRemote(ctx, (remote) => removeTsmConfig(remote, { log: (s) => ctx.log(s), signal: ctx.signal }));
  }

  config(): Record<string, unknown> {
    return { ...this.settings };
  }

  inspectView(): Record<string, unknown> {
    const s = this.settings;
    return baseDriverView(
      { ipAddress: s.ipAddress, machineName: this.host.machineName, sshUser: s.sshUser, sshPort: s.sshPort, sshKeyPath: s.sshKeyPath, storePath: this.host.storeRoot },
      { EnginePort: s.enginePort, SSHKey: s.sshKeyPath },
    );
  }
}

export const genericDriver: DriverDescriptor = {
  name: "generic",
  description: "An existing server reachable over SSH; tsm installs and secures Docker Engine on it",
  localVm: false,
  flags: OPTIONS.flags,
  settingsFromFlags(input) {
    const config = OPTIONS.read(input);
    return { config: { ...config }, enginePort: config.enginePort };
  },
  checkConfig(config) {
    const problem = schemaProblems(configSchema(), config);
    if (problem !== undefined) return problem;
    // A record may come from a hand edit or an older tsm: its host follows the rule of the flag.
    const { ipAddress } = config as GenericConfig;
    return isHostAddress(ipAddress) ? undefined : `ipAddress: ${ADDRESS_EXPECTED}, not ${JSON.stringify(ipAddress)}`;
  },
  async open(config, host) {
    return new GenericDriver(configSchema().parse(config), host);
  },
};

/**
 * A scripted driver for in-process tests of core (Docker Machine's fakedriver): a
 * descriptor plus drivers that `satisfies Driver`. Every call is recorded in order.
 * Methods that change something (preCreateCheck, create, start, stop, kill, restart,
 * remove) run only when the script allows them; any other such call throws AND is
 * remembered in `unexpected`, so a test fails even when the code under test
 * swallows the error. Queries (getState, getIp, getUrl, getSshEndpoint, config)
 * answer from the machine's settings and the script.
 */
import { defineOptions, stringOption, type OptionInput } from "../../src/model/options.js";
import type { Driver, DriverDescriptor, DriverFeatures, DriverHost, MachineState, OpContext, SshEndpoint } from "../../src/model/driver.js";
import type { Remote } from "../../src/model/seams.js";

const FAKE_OPTIONS = defineOptions({
  url: stringOption({ flag: "fake-url", env: "FAKE_URL", help: "engine URL, tcp://HOST:PORT", required: "The fake driver needs --fake-url" }),
});
import { NotSupportedError, UsageError } from "../../src/model/errors.js";

export type FakeMethod =
  | "preCreateCheck"
  | "create"
  | "getState"
  | "getIp"
  | "getUrl"
  | "getSshEndpoint"
  | "start"
  | "stop"
  | "kill"
  | "restart"
  | "remove";

/** Methods that change the machine: called only when the test says so. */
export const FAKE_ACTIONS: readonly FakeMethod[] = ["preCreateCheck", "create", "start", "stop", "kill", "restart", "remove"];

/** The driver's stored settings (`driver.config` in the record). */
export interface FakeConfig extends Record<string, unknown> {
  /** The engine URL, tcp://HOST:PORT; getIp answers its host. */
  url: string;
}

export interface FakeScript {
  /** Default: power control, not provisionable (like a VM whose engine tsm does not manage). */
  features?: Partial<DriverFeatures>;
  /** What getState answers (default "Running"), or per machine. */
  state?: MachineState | ((machine: string) => MachineState);
  /** The action methods the test expects; every other action is an unexpected call. */
  allow?: readonly FakeMethod[];
  /** A scripted failure: the method throws this error (after its effect, if any). */
  fail?: Partial<Record<FakeMethod, Error>>;
  /** What a method does to the driver's settings, as a real driver would (a VM id after create, a new address after start). */
  effects?: Partial<Record<FakeMethod, (config: FakeConfig) => void>>;
  /** Work a method does on the host through its DriverHost.withRemote (generic's reboot, a VM's address query). */
  remote?: Partial<Record<FakeMethod, (remote: Remote) => Promise<void>>>;
  /** Where SSH reaches the host (provisionable drivers); default root@<ip>:22 without a key file. */
  ssh?: Partial<SshEndpoint>;
}

export interface FakeCall {
  machine: string;
  method: FakeMethod;
}

export interface FakeDriverKit {
  readonly descriptor: DriverDescriptor;
  /** Every call to every driver of this descriptor, in order. */
  readonly calls: FakeCall[];
  /** Calls the script did not allow (they threw). */
  readonly unexpected: string[];
  /** Changeable between steps of a test. */
  script: FakeScript;
  /** The methods called on one machine, in order (queries included). */
  methods(machine: string, only?: "actions"): FakeMethod[];
}

function hostOf(url: string): string {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(url);
  if (!m) throw new UsageError(`Invalid --fake-url ${JSON.stringify(url)}`);
  return m[1]!.replace(/^\[|\]$/g, "");
}

function portOf(url: string): number {
  return Number(/:(\d+)$/.exec(url)![1]);
}

export function fakeDriver(script: FakeScript = {}, name = "fake"): FakeDriverKit {
  const calls: FakeCall[] = [];
  const unexpected: string[] = [];
  const kit: FakeDriverKit = {
    script,
    calls,
    unexpected,
    methods: (machine, only) =>
      calls.filter((c) => c.machine === machine && (only === undefined || FAKE_ACTIONS.includes(c.method))).map((c) => c.method),
    descriptor: undefined as unknown as DriverDescriptor,
  };

  function open(initial: FakeConfig, host: DriverHost): Driver {
    const { machineName } = host;
    const config: FakeConfig = { ...initial };
    const features = (): DriverFeatures => ({ powerControl: true, provisionable: false, ...kit.script.features });
    const enter = async (method: FakeMethod, ctx?: OpContext): Promise<void> => {
      calls.push({ machine: machineName, method });
      if (FAKE_ACTIONS.includes(method) && !(kit.script.allow ?? []).includes(method)) {
        const message = `unexpected call: ${name}.${method}() on "${machineName}"`;
        unexpected.push(message);
        throw new Error(message);
      }
      kit.script.effects?.[method]?.(config);
      const work = kit.script.remote?.[method];
      if (work && ctx) await host.withRemote(ctx, work);
      const failure = kit.script.fail?.[method];
      if (failure) throw failure;
    };
    const action = (method: FakeMethod) => async (ctx: OpContext): Promise<void> => enter(method, ctx);
    return {
      name,
      get features() {
        return features();
      },
      preCreateCheck: action("preCreateCheck"),
      create: action("create"),
      start: action("start"),
      stop: action("stop"),
      kill: action("kill"),
      restart: action("restart"),
      async remove(ctx: OpContext, _options?: { cleanHost?: boolean }) {
        await enter("remove", ctx);
      },
      async getState() {
        await enter("getState");
        const state = kit.script.state ?? "Running";
        return typeof state === "function" ? state(machineName) : state;
      },
      async getIp() {
        await enter("getIp");
        return hostOf(config.url);
      },
      async getUrl() {
        await enter("getUrl");
        return config.url;
      },
      async getSshEndpoint() {
        await enter("getSshEndpoint");
        if (!features().provisionable) throw new NotSupportedError(name, "ssh");
        return { host: hostOf(config.url), port: 22, user: "root", privateKeyPath: "", ...kit.script.ssh };
      },
      config: () => ({ ...config }),
      inspectView: () => ({ IPAddress: hostOf(config.url), MachineName: machineName }),
    } satisfies Driver;
  }

  const descriptor = {
    name,
    description: "A scripted driver for tests",
    localVm: false,
    flags: FAKE_OPTIONS.flags,
    settingsFromFlags(input: OptionInput) {
      const { url } = FAKE_OPTIONS.read(input);
      hostOf(url);
      return { config: { url }, enginePort: portOf(url) };
    },
    checkConfig(config: Record<string, unknown>) {
      return typeof config.url === "string" ? undefined : "url: expected a string";
    },
    async open(config: Record<string, unknown>, host: DriverHost) {
      return open(config as FakeConfig, host);
    },
  } satisfies DriverDescriptor;
  (kit as { descriptor: DriverDescriptor }).descriptor = descriptor;
  return kit;
}

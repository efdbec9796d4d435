/**
 * The `none` driver: a Docker engine that already exists at `--url tcp://host:port`.
 * tsm creates no host and provisions nothing; it issues the certificates the
 * engine should serve and gives the client side (`env`, `config`, `ls`).
 */
import * as z from "zod/mini";
import type { Driver, DriverDescriptor, OpContext } from "../../src/model/driver.js";
import { NotSupportedError } from "../../src/model/errors.js";
import { baseDriverView } from "../../src/model/inspect-base.js";
import { defineOptions, schemaProblems, stringOption } from "../../src/model/options.js";
import { BadUrlError, parseTcpUrl, URL_HOST_RULE } from "../../src/docker/engine-api.js";

const OPTIONS = defineOptions({
  url: stringOption({
    flag: "url",
    env: "NONE_URL",
    help: "URL of the engine, tcp://HOST:PORT (required)",
    required: "The none driver needs --url tcp://HOST:PORT (or NONE_URL)",
    check: (url) => {
      try {
        parseTcpUrl(url);
        return undefined;
      } catch (err) {
        return err instanceof BadUrlError && err.problem === "host" ? URL_HOST_RULE : "expected tcp://HOST:PORT, e.g. tcp://192.168.1.10:2376";
      }
    },
  }),
});
const ConfigSchema = z.object({ url: z.string() });
type NoneConfig = z.infer<typeof ConfigSchema>;

class NoneDriver implements Driver {
  readonly name = "none";
  readonly features = { powerControl: false, provisionable: false } as const;
  readonly #endpoint: { host: string; port: number };

  constructor(
    private readonly settings: NoneConfig,
    private readonly machineName: string,
    private readonly storeRoot: string,
  ) {
    this.#endpoint = parseTcpUrl(settings.url);
  }

  async preCreateCheck(): Promise<void> {}
  async create(): Promise<void> {}
  /** An existing engine is assumed to be there; `ls` shows whether it answers. */
  async getState(): Promise<"Running"> {
    return "Running";
  }
  async getIp(): Promise<string> {
    return this.#endpoint.host;
  }
  async getUrl(): Promise<string> {
    return this.settings.url;
  }
  async start(_ctx: OpContext): Promise<void> {
    throw new NotSupportedError(this.name, "start: a host without a driver is not tsm's to start");
  }
  async stop(_ctx: OpContext): Promise<void> {
    throw new NotSupportedError(this.name, "stop: a host without a driver is not tsm's to stop");
  }
  async kill(_ctx: OpContext): Promise<void> {
    throw new NotSupportedError(this.name, "kill: a host without a driver is not tsm's to kill");
  }
  async restart(_ctx: OpContext): Promise<void> {
    throw new NotSupportedError(this.name, "restart: a host without a driver is not tsm's to restart");
  }
  async getSshEndpoint(): Promise<never> {
    throw new NotSupportedError(this.name, "ssh: tsm knows only the engine's URL");
  }
  /** Nothing remote to delete: the engine is not tsm's. */
  async remove(): Promise<void> {}
  config(): Record<string, unknown> {
    return { url: this.settings.url };
  }
  inspectView(): Record<string, unknown> {
    return baseDriverView(
      { ipAddress: this.#endpoint.host, machineName: this.machineName, sshUser: "", sshPort: 0, sshKeyPath: "", storePath: this.storeRoot },
      { URL: this.settings.url },
    );
  }
}

export const noneDriver: DriverDescriptor = {
  name: "none",
  description: "An existing Docker engine at --url; tsm only issues its certificates and points clients at it",
  localVm: false,
  flags: OPTIONS.flags,
  settingsFromFlags(input) {
    const { url } = OPTIONS.read(input);
    return { config: { url }, enginePort: parseTcpUrl(url).port };
  },
  checkConfig(config) {
    const problem = schemaProblems(ConfigSchema, config);
    if (problem !== undefined) return problem;
    try {
      parseTcpUrl((config as NoneConfig).url);
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  },
  async open(config, host) {
    return new NoneDriver(ConfigSchema.parse(config), host.machineName, host.storeRoot);
  },
};

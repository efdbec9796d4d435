import { describe, expect, it } from "vitest";
import { flagOption } from "../../../src/cli/support/driver-flags.js";
import { CREATE_OPTIONS } from "../../../src/core/create-options.js";
import { boolOption, defineOptions, stringOption } from "../../../src/model/options.js";
import { resolveStorageRoot } from "../../../src/store/paths.js";

const set = defineOptions({
  url: stringOption({ flag: "install-url", env: "TSM_INSTALL_URL", envAliases: ["MACHINE_DOCKER_INSTALL_URL"], help: "u", default: "https://get.docker.com" }),
  on: boolOption({ flag: "on", env: "TSM_ON", envAliases: ["MACHINE_ON"], help: "b" }),
});

describe("envAliases: Docker Machine's variable names on a declared option", () => {
  it("reads the alias when tsm's variable is unset; tsm's name and the flag keep precedence", () => {
    expect(set.read({ cli: {}, env: { MACHINE_DOCKER_INSTALL_URL: "https://m" } }).url).toBe("https://m");
    expect(set.read({ cli: {}, env: { TSM_INSTALL_URL: "https://t", MACHINE_DOCKER_INSTALL_URL: "https://m" } }).url).toBe("https://t");
    expect(set.read({ cli: { "install-url": "https://f" }, env: { TSM_INSTALL_URL: "https://t" } }).url).toBe("https://f");
    expect(set.read({ cli: {}, env: {} }).url).toBe("https://get.docker.com");
  });

  it("names the alias a bad value came from", () => {
    expect(() => set.read({ cli: {}, env: { MACHINE_ON: "maybe" } })).toThrow(/MACHINE_ON/);
  });

  it("lists the alias in the flag and in --help", () => {
    const flag = set.flags.find((f) => f.name === "install-url")!;
    expect(flag.envAliases).toEqual(["MACHINE_DOCKER_INSTALL_URL"]);
    expect(flagOption(flag).description).toMatch(/\(env: TSM_INSTALL_URL, MACHINE_DOCKER_INSTALL_URL\)/);
  });

  it("create honours MACHINE_DOCKER_INSTALL_URL and ENGINE_REGISTRY_MIRROR", () => {
    const v = CREATE_OPTIONS.read({ cli: {}, env: { MACHINE_DOCKER_INSTALL_URL: "https://i", ENGINE_REGISTRY_MIRROR: "https://a,https://b" } });
    expect(v.engineInstallUrl).toBe("https://i");
    expect(v.engineRegistryMirror).toEqual(["https://a", "https://b"]);
  });
});

describe("resolveStorageRoot", () => {
  const pe = (env: Record<string, string>) => ({ env: { HOME: "/home/u", ...env }, platform: "linux" as const, homedir: "/home/u" });
  it("honours MACHINE_STORAGE_PATH after --storage-path and TSM_STORAGE_PATH", () => {
    expect(resolveStorageRoot(undefined, pe({ MACHINE_STORAGE_PATH: "/dm" }))).toBe("/dm");
    expect(resolveStorageRoot(undefined, pe({ MACHINE_STORAGE_PATH: "/dm", TSM_STORAGE_PATH: "/t" }))).toBe("/t");
    expect(resolveStorageRoot("/f", pe({ MACHINE_STORAGE_PATH: "/dm" }))).toBe("/f");
  });
  it("defaults to ~/.tsm, and to Docker Machine's ~/.docker/machine in compatibility mode", () => {
    expect(resolveStorageRoot(undefined, pe({}))).toBe("/home/u/.tsm");
    expect(resolveStorageRoot(undefined, pe({}), "docker-machine")).toBe("/home/u/.docker/machine");
  });
});

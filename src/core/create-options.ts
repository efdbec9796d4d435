/**
 * `create`'s own options (engine, TLS, swarm), declared once like a driver's: flag,
 * TSM_* variable, default and help. Cheap to import (commander lists them on every
 * `create`); the engine rules that check the values are loaded only when creating.
 */
import { DEFAULT_INSTALL_URL, type EngineOptions } from "../model/machine.js";
import { boolOption, checkAll, defineOptions, listOption, stringOption, type OptionInput, type OptionValues } from "../model/options.js";
import type { SwarmRequest } from "./swarm.js";

export const CREATE_OPTIONS = defineOptions({
  engineInstallMethod: stringOption({
    flag: "engine-install-method",
    env: "TSM_ENGINE_INSTALL_METHOD",
    placeholder: "method",
    help: "how to install Docker Engine where it is missing: script, distro, binary or none",
    default: "script",
  }),
  engineInstallUrl: stringOption({ flag: "engine-install-url", env: "TSM_ENGINE_INSTALL_URL", envAliases: ["MACHINE_DOCKER_INSTALL_URL"], placeholder: "url", help: "URL of the Docker install script (method script)", default: DEFAULT_INSTALL_URL }),
  engineBinaryUrl: stringOption({ flag: "engine-binary-url", env: "TSM_ENGINE_BINARY_URL", placeholder: "url", help: "URL of a static Docker binary tarball (method binary)" }),
  engineOpt: listOption({ flag: "engine-opt", env: "TSM_ENGINE_OPT", placeholder: "name=value", help: "dockerd flag, passed as --name=value" }),
  engineInsecureRegistry: listOption({ flag: "engine-insecure-registry", env: "TSM_ENGINE_INSECURE_REGISTRY", placeholder: "registry", help: "insecure registry for the engine" }),
  engineRegistryMirror: listOption({ flag: "engine-registry-mirror", env: "TSM_ENGINE_REGISTRY_MIRROR", envAliases: ["ENGINE_REGISTRY_MIRROR"], placeholder: "url", help: "registry mirror for the engine" }),
  engineLabel: listOption({ flag: "engine-label", env: "TSM_ENGINE_LABEL", placeholder: "key=value", help: "engine label" }),
  engineEnv: listOption({ flag: "engine-env", env: "TSM_ENGINE_ENV", placeholder: "NAME=value", help: "environment variable for dockerd" }),
  engineStorageDriver: stringOption({ flag: "engine-storage-driver", env: "TSM_ENGINE_STORAGE_DRIVER", placeholder: "driver", help: "engine storage driver (default: the distribution's)" }),
  tlsSan: listOption({ flag: "tls-san", env: "TSM_TLS_SAN", placeholder: "name", help: "extra IP or DNS name for the server certificate" }),
  swarmMaster: boolOption({ flag: "swarm-master", env: "TSM_SWARM_MASTER", help: "start a Swarm mode cluster on this machine" }),
  swarm: boolOption({ flag: "swarm", env: "TSM_SWARM", help: "join a Swarm mode cluster (with --swarm-join)" }),
  swarmJoin: stringOption({ flag: "swarm-join", env: "TSM_SWARM_JOIN", placeholder: "machine", help: "the manager machine whose cluster to join" }),
  swarmManager: boolOption({ flag: "swarm-manager", env: "TSM_SWARM_MANAGER", help: "join as a manager instead of a worker" }),
  swarmAddr: stringOption({ flag: "swarm-addr", env: "TSM_SWARM_ADDR", placeholder: "address", help: "address other nodes reach this one at (default: the machine's)" }),
  swarmOpt: listOption({
    flag: "swarm-opt",
    env: "TSM_SWARM_OPT",
    placeholder: "key=value",
    help: "Swarm mode setting: listen-addr, data-path-addr, availability, default-addr-pool, default-addr-pool-mask-length, data-path-port",
  }),
});

export type CreateOptionValues = OptionValues<typeof CREATE_OPTIONS.specs>;

/** What create's options ask for, checked by the engine rules; every bad value is reported at once. */
export interface CreateOptionsRequest {
  engine: Omit<EngineOptions, "port">;
  tlsSans: string[];
  swarm: SwarmRequest | undefined;
}

export async function readCreateOptions(input: OptionInput): Promise<CreateOptionsRequest> {
  const v = CREATE_OPTIONS.read(input);
  const rules = await import("../provision/engine-rules.js");
  const { swarmRequest } = await import("./swarm.js");
  const { validateMachineName } = await import("../model/name.js");
  const [swarm, installMethod, installUrl, binaryUrl, opts, env, labels, insecureRegistries, registryMirrors, storageDriver, tlsSans] = checkAll([
    () => {
      const request = swarmRequest(v);
      if (request?.join !== undefined) validateMachineName(request.join);
      return request;
    },
    () => rules.checkInstallMethod(v.engineInstallMethod, v.engineBinaryUrl),
    () => rules.checkUrl("engine-install-url", v.engineInstallUrl),
    () => (v.engineBinaryUrl === "" ? "" : rules.checkUrl("engine-binary-url", v.engineBinaryUrl)),
    () => v.engineOpt.map(rules.checkEngineOpt),
    () => v.engineEnv.map(rules.checkEngineEnv),
    () => v.engineLabel.map(rules.checkEngineLabel),
    () => v.engineInsecureRegistry.map((r) => rules.checkRegistry("engine-insecure-registry", r)),
    () => v.engineRegistryMirror.map((r) => rules.checkRegistry("engine-registry-mirror", r)),
    () => rules.checkStorageDriver(v.engineStorageDriver),
    () => v.tlsSan.map(rules.checkTlsSan),
  ] as const);
  return {
    engine: { installMethod, installUrl, binaryUrl, opts, env, labels, insecureRegistries, registryMirrors, storageDriver },
    tlsSans,
    swarm,
  };
}

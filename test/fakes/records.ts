/** Requests and records for core tests, with the product's defaults. */
import type { CreateRequest } from "../../src/core/lifecycle.js";
import { DEFAULT_INSTALL_URL, RECORD_VERSION, type EngineOptions, type MachineRecord } from "../../src/model/machine.js";

export const ENGINE: Omit<EngineOptions, "port"> = {
  installMethod: "script",
  installUrl: DEFAULT_INSTALL_URL,
  binaryUrl: "",
  opts: [],
  env: [],
  labels: [],
  insecureRegistries: [],
  registryMirrors: [],
  storageDriver: "",
};

/** `tsm create -d fake --fake-url URL NAME`. */
export function createRequest(name: string, url = "tcp://127.0.0.1:2376", more: Partial<CreateRequest> = {}): CreateRequest {
  return { name, driverName: "fake", driverOptions: { cli: { "fake-url": url }, env: {} }, engine: ENGINE, tlsSans: [], ...more };
}

/** A record as create would have saved it, for tests that start from an existing machine. */
export function fakeRecord(name: string, config: Record<string, unknown> = { url: "tcp://127.0.0.1:2376" }, more: Partial<MachineRecord> = {}): MachineRecord {
  return {
    configVersion: RECORD_VERSION,
    name,
    createdAt: "2024-01-02T03:04:05.000Z",
    driver: { name: "fake", config },
    engine: { ...ENGINE, port: 2376 },
    tls: { sans: [] },
    ...more,
  };
}

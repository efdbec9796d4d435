/**
 * The machine record: what tsm knows about one machine, stored as
 * `<store>/machines/<name>/config.json`. Certificate paths are not stored: they
 * follow from the store layout (src/store/paths.ts), so a store can be moved.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { MACHINE_NAME_PATTERN } from "./name.js";

// zod/mini ships without messages; English ones make validation errors say what was expected.
z.config(en());

/** The record format this tsm writes. Records with a larger number are refused, never rewritten. */
export const RECORD_VERSION = 1;

const port = z.int().check(z.minimum(1), z.maximum(65535));

export const EngineOptionsSchema = z.object({
  /** TCP port dockerd listens on inside the host (not necessarily the one clients dial). */
  port,
  /**
   * How Docker Engine is installed on a host that lacks it: `script` runs the
   * script at installUrl (get.docker.com style), `distro` uses the
   * distribution's packages, `binary` unpacks the static tarball at binaryUrl,
   * `none` never installs (the host must have it).
   */
  installMethod: z.enum(["script", "distro", "binary", "none"]),
  installUrl: z.string(),
  binaryUrl: z.string(),
  /** `--engine-opt k=v` values, passed to dockerd as `--k=v`. */
  opts: z.array(z.string()),
  env: z.array(z.string()),
  labels: z.array(z.string()),
  insecureRegistries: z.array(z.string()),
  registryMirrors: z.array(z.string()),
  storageDriver: z.string(),
});
export type EngineOptions = z.infer<typeof EngineOptionsSchema>;

export const SwarmOptionsSchema = z.object({
  /** Role this machine was created with in a Swarm mode cluster. */
  role: z.enum(["master", "manager", "worker"]),
  /** Name of the master machine the cluster was formed around (itself for the master). */
  master: z.string(),
  opts: z.array(z.string()),
});
export type SwarmOptions = z.infer<typeof SwarmOptionsSchema>;

/** A Swarm mode step asked for at create (`--swarm-master`, `--swarm-join`) that has not happened yet. */
export const PendingSwarmSchema = z.object({
  role: z.enum(["master", "manager", "worker"]),
  /** The machine whose cluster to join (manager and worker). */
  join: z.optional(z.string()),
  /** `--swarm-addr`: the address other nodes reach this one at. */
  advertiseAddr: z.optional(z.string()),
  opts: z.array(z.string()),
});
export type PendingSwarm = z.infer<typeof PendingSwarmSchema>;

export const MachineRecordSchema = z.object({
  configVersion: z.literal(RECORD_VERSION),
  name: z.string().check(z.regex(MACHINE_NAME_PATTERN)),
  createdAt: z.string(),
  driver: z.object({
    name: z.string().check(z.minLength(1)),
    /** Driver-owned settings; validated again by the driver's own schema when opened. */
    config: z.record(z.string(), z.unknown()),
  }),
  engine: EngineOptionsSchema,
  tls: z.object({
    /** Extra subject alternative names requested with --tls-san. */
    sans: z.array(z.string()),
  }),
  swarm: z.optional(SwarmOptionsSchema),
  /**
   * The cluster to form or join once the engine answers: saved with the record at create
   * and cleared when the step succeeds, so `tsm provision` can finish it later (for the
   * none driver, once the user has started the engine with the machine's certificates).
   */
  pendingSwarm: z.optional(PendingSwarmSchema),
  /** The SSH host key pinned on first contact ("<type> SHA256:<base64>"); a different key later is refused. */
  ssh: z.optional(z.object({ hostKey: z.string() })),
});
export type MachineRecord = z.infer<typeof MachineRecordSchema>;

export const DEFAULT_ENGINE_PORT = 2376;
export const DEFAULT_INSTALL_URL = "https://get.docker.com";
export const INSTALL_METHODS = ["script", "distro", "binary", "none"] as const;
export type InstallMethod = (typeof INSTALL_METHODS)[number];

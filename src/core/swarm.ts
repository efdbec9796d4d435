/**
 * Swarm mode clusters from tsm machines. The orchestrator is Docker's own;
 * tsm forms the cluster and tracks membership in the records, talking to the
 * engines over their mutual-TLS API (/swarm/init, /swarm, /swarm/join,
 * /nodes). Join tokens are read from a manager when needed, passed straight
 * to the joining engine, and never stored, printed or logged.
 */
import { engineRequest, EngineApiError, type EngineEndpoint } from "../docker/engine-api.js";
import { sleep } from "../model/abort.js";
import { isHostAddress } from "../model/address.js";
import type { OpContext } from "../model/driver.js";
import { machineTlsConnection } from "./connection.js";
import { MachineStateError, PreCreateCheckError, TsmError, UsageError } from "../model/errors.js";
import type { MachineRecord, PendingSwarm, SwarmOptions } from "../model/machine.js";
import type { Machine } from "./machine.js";
import { openMachine } from "./open.js";
import { opContext, type Session } from "./session.js";

/** Swarm mode's cluster management port. */
export const SWARM_PORT = 2377;
const TIMEOUT_MS = 30_000;

/** A cluster to form (master) or join (manager, worker): `create`'s Swarm flags, kept in the record until done. */
export type SwarmRequest = PendingSwarm;

/** The `--swarm-opt` keys and the Engine API fields they set, like `docker swarm init/join` flags. */
export const SWARM_OPTS: Readonly<Record<string, { roles: ReadonlyArray<SwarmRequest["role"]>; describe: string }>> = {
  "listen-addr": { roles: ["master", "manager", "worker"], describe: "ListenAddr (default 0.0.0.0:2377)" },
  "data-path-addr": { roles: ["master", "manager", "worker"], describe: "DataPathAddr" },
  availability: { roles: ["master", "manager", "worker"], describe: "Availability: active, pause or drain" },
  "default-addr-pool": { roles: ["master"], describe: "DefaultAddrPool (repeatable CIDR)" },
  "default-addr-pool-mask-length": { roles: ["master"], describe: "SubnetSize" },
  "data-path-port": { roles: ["master"], describe: "DataPathPort" },
};

/** Turns --swarm-opt values into Engine API request fields; throws UsageError naming the bad one. */
export function swarmOptFields(role: SwarmRequest["role"], opts: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const opt of opts) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? "" : opt.slice(eq + 1);
    const known = SWARM_OPTS[key];
    if (!known) throw new UsageError(`Unknown --swarm-opt ${JSON.stringify(key)}: use ${Object.keys(SWARM_OPTS).join(", ")}`);
    if (!known.roles.includes(role)) throw new UsageError(`--swarm-opt ${key} applies only to --swarm-master`);
    if (value === "") throw new UsageError(`--swarm-opt ${key} needs a value: ${key}=VALUE`);
    const int = (): number => {
      if (!/^\d+$/.test(value)) throw new UsageError(`--swarm-opt ${key}=${value}: expected a whole number`);
      return Number(value);
    };
    switch (key) {
      case "listen-addr":
        fields.ListenAddr = value;
        break;
      case "data-path-addr":
        fields.DataPathAddr = value;
        break;
      case "availability":
        if (!["active", "pause", "drain"].includes(value)) throw new UsageError(`--swarm-opt availability=${value}: use active, pause or drain`);
        fields.Availability = value;
        break;
      case "default-addr-pool":
        fields.DefaultAddrPool = [...((fields.DefaultAddrPool as string[] | undefined) ?? []), value];
        break;
      case "default-addr-pool-mask-length":
        fields.SubnetSize = int();
        break;
      case "data-path-port":
        fields.DataPathPort = int();
        break;
    }
  }
  return fields;
}

/** The Swarm flags of `create`, as parsed. */
export interface SwarmFlags {
  swarm?: boolean;
  swarmMaster?: boolean;
  swarmJoin?: string;
  swarmManager?: boolean;
  swarmAddr?: string;
  swarmOpt?: string[];
}

/** Checks the flag combination; undefined when no swarm was asked for. */
export function swarmRequest(flags: SwarmFlags): SwarmRequest | undefined {
  const { swarm, swarmMaster, swarmJoin, swarmManager, swarmAddr } = flags;
  const opts = flags.swarmOpt ?? [];
  let request: SwarmRequest | undefined;
  if (swarmMaster && (swarmJoin || swarmManager)) throw new UsageError("--swarm-master starts a new cluster: it cannot be combined with --swarm-join or --swarm-manager");
  if (swarmMaster) request = { role: "master", advertiseAddr: swarmAddr || undefined, opts };
  else if (swarmJoin) request = { role: swarmManager ? "manager" : "worker", join: swarmJoin, advertiseAddr: swarmAddr || undefined, opts };
  else if (swarm || swarmManager) throw new UsageError("--swarm needs --swarm-join MASTER: the machine whose cluster to join (Swarm mode has no discovery service)");
  else if (swarmAddr || opts.length > 0) throw new UsageError(`${swarmAddr ? "--swarm-addr" : "--swarm-opt"} needs --swarm-master or --swarm-join`);
  if (request?.advertiseAddr !== undefined && !isHostAddress(request.advertiseAddr)) {
    // It becomes AdvertiseAddr (HOST:2377) in the Engine API; a network interface name is a DNS-shaped word.
    throw new UsageError(`Invalid --swarm-addr ${JSON.stringify(request.advertiseAddr)}: expected an IP address, a DNS name or a network interface name`);
  }
  if (request) swarmOptFields(request.role, opts);
  return request;
}

interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: string;
  ControlAvailable: boolean;
  RemoteManagers?: Array<{ NodeID: string; Addr: string }> | null;
}

async function info(endpoint: EngineEndpoint, signal?: AbortSignal): Promise<SwarmInfo> {
  const body = (await engineRequest(endpoint, "/info", { timeoutMs: TIMEOUT_MS, signal })) as { Swarm?: SwarmInfo };
  if (!body?.Swarm) throw new TsmError("SWARM", "The engine's /info has no Swarm section");
  return body.Swarm;
}

async function endpointOf(session: Session, machine: Machine): Promise<EngineEndpoint> {
  return (await machineTlsConnection(session, machine)).endpoint;
}

/**
 * Before anything is created: the machine to join exists, its engine answers,
 * and it is a manager of an active cluster. Throws PreCreateCheckError (exit 3).
 */
export async function checkJoinTarget(session: Session, request: SwarmRequest): Promise<void> {
  if (request.role === "master" || !request.join) return;
  let master: Machine;
  try {
    master = await openMachine(session, request.join);
  } catch (err) {
    throw new PreCreateCheckError(`cannot join the cluster of "${request.join}": ${(err as Error).message}`, { cause: err });
  }
  let swarm: SwarmInfo;
  try {
    swarm = await info(await endpointOf(session, master), session.signal);
  } catch (err) {
    throw new PreCreateCheckError(`cannot join the cluster of "${request.join}": its engine does not answer (${(err as Error).message})`, { cause: err });
  }
  if (swarm.LocalNodeState !== "active" || !swarm.ControlAvailable) {
    throw new PreCreateCheckError(`"${request.join}" is not a manager of a Swarm mode cluster (its node state is "${swarm.LocalNodeState || "inactive"}"); join a manager, or create one with --swarm-master`);
  }
}

/** Forms or joins the cluster for a machine that was just provisioned; returns what to store in its record. */
export async function applySwarm(session: Session, machine: Machine, request: SwarmRequest): Promise<SwarmOptions> {
  const ctx = opContext(session, machine.record.name);
  const endpoint = await endpointOf(session, machine);
  const address = request.advertiseAddr ?? (await peerAddress(machine, ctx));
  if (request.role === "master") {
    ctx.log("Starting a Swarm mode cluster...");
    await engineRequest(endpoint, "/swarm/init", {
      method: "POST",
      body: { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: `${address}:${SWARM_PORT}`, ...swarmOptFields("master", request.opts) },
      timeoutMs: TIMEOUT_MS,
      signal: ctx.signal,
    });
    return { role: "master", master: machine.record.name, opts: request.opts };
  }
  const master = await openMachine(session, request.join!);
  const masterEndpoint = await endpointOf(session, master);
  const cluster = (await engineRequest(masterEndpoint, "/swarm", { timeoutMs: TIMEOUT_MS, signal: ctx.signal })) as { JoinTokens: { Worker: string; Manager: string } };
  const masterInfo = await info(masterEndpoint, ctx.signal);
  const managers = (masterInfo.RemoteManagers ?? []).map((m) => m.Addr);
  ctx.log(`Joining the Swarm mode cluster of "${master.record.name}" as a ${request.role}...`);
  await engineRequest(endpoint, "/swarm/join", {
    method: "POST",
    body: {
      ListenAddr: `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: `${address}:${SWARM_PORT}`,
      RemoteAddrs: managers.length > 0 ? managers : [`${await peerAddress(master, ctx)}:${SWARM_PORT}`],
      JoinToken: request.role === "manager" ? cluster.JoinTokens.Manager : cluster.JoinTokens.Worker,
      ...swarmOptFields(request.role, request.opts),
    },
    timeoutMs: 60_000,
    signal: ctx.signal,
  });
  // The root of the cluster stays the machine it was formed around.
  return { role: request.role, master: master.record.swarm?.master ?? master.record.name, opts: request.opts };
}

/**
 * The Swarm mode step of create, done now: forms or joins the cluster, then saves the
 * record with its membership and without the pending request. The caller holds the
 * machine lock.
 */
export async function finishSwarm(session: Session, machine: Machine, request: SwarmRequest): Promise<void> {
  const swarm = await applySwarm(session, machine, request);
  const { pendingSwarm: _done, ...rest } = machine.record;
  const saved: MachineRecord = { ...rest, swarm };
  await session.store.save(saved);
  machine.replaceRecord(saved);
}

export interface NodeStatus {
  NodeID: string;
  LocalNodeState: string;
  Role: string;
  /** From a manager: ready, down, unknown... ("" when no manager answered). */
  State: string;
  Availability: string;
}

/** The node's live status for `inspect`: its own view, plus a manager's view of it. */
export async function nodeStatus(session: Session, machine: Machine): Promise<NodeStatus> {
  const own = await info(await endpointOf(session, machine), session.signal);
  const status: NodeStatus = { NodeID: own.NodeID, LocalNodeState: own.LocalNodeState, Role: own.ControlAvailable ? "manager" : "worker", State: "", Availability: "" };
  if (!own.NodeID || !machine.record.swarm) return status;
  const manager = own.ControlAvailable ? machine : await openMachine(session, machine.record.swarm.master).catch(() => undefined);
  if (!manager) return status;
  try {
    const node = (await engineRequest(await endpointOf(session, manager), `/nodes/${encodeURIComponent(own.NodeID)}`, { timeoutMs: TIMEOUT_MS, signal: session.signal })) as {
      Status?: { State?: string };
      Spec?: { Availability?: string; Role?: string };
    };
    return { ...status, Role: node.Spec?.Role ?? status.Role, State: node.Status?.State ?? "", Availability: node.Spec?.Availability ?? "" };
  } catch {
    return status;
  }
}

interface NodeRecord {
  ID: string;
  Version: { Index: number };
  Spec: { Role: string; Availability: string; Labels?: Record<string, string>; Name?: string };
  Status: { State: string };
  ManagerStatus?: { Reachability?: string; Leader?: boolean };
}

/** A manager of the machine's cluster other than the machine itself, if one answers. */
async function otherManager(session: Session, machine: Machine): Promise<{ machine: Machine; endpoint: EngineEndpoint } | undefined> {
  const names = await session.store.list();
  for (const name of names) {
    if (name === machine.record.name) continue;
    const loaded = await session.store.tryLoad(name);
    if (!loaded.ok || loaded.record.swarm?.master !== machine.record.swarm?.master || loaded.record.swarm?.role === "worker") continue;
    try {
      const m = await openMachine(session, name);
      const endpoint = await endpointOf(session, m);
      const i = await info(endpoint, session.signal);
      if (i.ControlAvailable) return { machine: m, endpoint };
    } catch {
      // not answering: try the next one
    }
  }
  return undefined;
}

/**
 * Takes a machine out of its cluster before it is removed: a worker is
 * drained (its tasks rescheduled), leaves, and its node is deleted; the last
 * manager is refused unless `force` (the cluster would be lost).
 */
export async function leaveSwarm(session: Session, machine: Machine, options: { force: boolean }): Promise<void> {
  const ctx = opContext(session, machine.record.name);
  const ownEndpoint = await endpointOf(session, machine);
  const own = await info(ownEndpoint, ctx.signal);
  if (own.LocalNodeState === "inactive" || own.NodeID === "") return;
  const isManager = own.ControlAvailable;
  const manager = isManager ? { machine, endpoint: ownEndpoint } : await otherManager(session, machine);
  if (isManager) {
    const nodes = (await engineRequest(ownEndpoint, "/nodes", { timeoutMs: TIMEOUT_MS, signal: ctx.signal })) as NodeRecord[];
    const managers = nodes.filter((n) => n.Spec.Role === "manager" && n.ID !== own.NodeID);
    if (managers.length === 0 && nodes.length > 1 && !options.force) {
      throw new MachineStateError(
        `"${machine.record.name}" is the last manager of its Swarm mode cluster (${nodes.length - 1} other node(s)): removing it would lose the cluster. Remove the other nodes first, or use -f`,
      );
    }
  }
  if (manager && !isManager) {
    ctx.log("Draining the node (its tasks move to other nodes)...");
    await setAvailability(manager.endpoint, own.NodeID, "drain", ctx.signal);
    await waitForNoTasks(manager.endpoint, own.NodeID, ctx.signal);
  }
  ctx.log("Leaving the Swarm mode cluster...");
  await engineRequest(ownEndpoint, `/swarm/leave?force=${isManager ? "true" : "false"}`, { method: "POST", timeoutMs: 60_000, signal: ctx.signal });
  if (manager && !isManager) {
    await removeNode(manager.endpoint, own.NodeID, ctx.signal);
  }
}

async function setAvailability(endpoint: EngineEndpoint, nodeId: string, availability: string, signal: AbortSignal): Promise<void> {
  const node = (await engineRequest(endpoint, `/nodes/${encodeURIComponent(nodeId)}`, { timeoutMs: TIMEOUT_MS, signal })) as NodeRecord;
  await engineRequest(endpoint, `/nodes/${encodeURIComponent(nodeId)}/update?version=${node.Version.Index}`, {
    method: "POST",
    body: { ...node.Spec, Availability: availability },
    timeoutMs: TIMEOUT_MS,
    signal,
  });
}

async function waitForNoTasks(endpoint: EngineEndpoint, nodeId: string, signal: AbortSignal, deadlineMs = 60_000): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ node: [nodeId], "desired-state": ["running"] }));
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    const tasks = (await engineRequest(endpoint, `/tasks?filters=${filters}`, { timeoutMs: TIMEOUT_MS, signal })) as unknown[];
    if (tasks.length === 0) return;
    await sleep(1000, signal, "waiting for the node's tasks to move");
  }
}

/** Deletes the node once the cluster sees it down (it has left). */
async function removeNode(endpoint: EngineEndpoint, nodeId: string, signal: AbortSignal, deadlineMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await engineRequest(endpoint, `/nodes/${encodeURIComponent(nodeId)}`, { method: "DELETE", timeoutMs: TIMEOUT_MS, signal });
      return;
    } catch (err) {
      if (!(err instanceof EngineApiError) || err.statusCode === 404) return;
      if (Date.now() - started > deadlineMs) {
        await engineRequest(endpoint, `/nodes/${encodeURIComponent(nodeId)}?force=true`, { method: "DELETE", timeoutMs: TIMEOUT_MS, signal });
        return;
      }
      await sleep(1000, signal, "waiting for the node to leave the cluster");
    }
  }
}

/** Where other nodes reach a machine: its peer address (VMs behind a port forward), else its address. */
async function peerAddress(machine: Machine, ctx: OpContext): Promise<string> {
  return machine.driver.getPeerIp ? machine.driver.getPeerIp(ctx) : machine.driver.getIp(ctx);
}

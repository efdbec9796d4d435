/**
 * The `inspect` view of a machine: Docker Machine's config.json shape (so
 * `{{.Driver.IPAddress}}`, `{{.HostOptions.EngineOptions.Labels}}` and friends
 * keep working in old scripts), plus what tsm adds: certificate expiry dates
 * and the creation time.
 */
import { readFile } from "node:fs/promises";
import { describeCert, parseCert } from "../certs/check.js";
import type { Machine } from "./machine.js";
import type { StorePaths } from "../store/paths.js";
import type { Session } from "./session.js";

async function certSummary(file: string): Promise<Record<string, unknown>> {
  try {
    const info = describeCert(await parseCert(await readFile(file, "utf8")));
    return {
      Path: file,
      Subject: info.subject,
      NotBefore: info.notBefore.toISOString(),
      NotAfter: info.notAfter.toISOString(),
      SANs: info.sans,
    };
  } catch (err) {
    return { Path: file, Error: (err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : (err as Error).message };
  }
}

/** The live Swarm mode status of a member, or why it could not be read. */
async function swarmView(session: Session, machine: Machine): Promise<Record<string, unknown> | null> {
  const swarm = machine.record.swarm;
  if (!swarm) return null;
  const base = { Role: swarm.role, Master: swarm.master };
  try {
    const { nodeStatus } = await import("./swarm.js");
    return { ...base, Node: await nodeStatus(session, machine) };
  } catch (err) {
    return { ...base, Error: (err as Error).message };
  }
}

export async function inspectView(machine: Machine, store: StorePaths, session?: Session): Promise<Record<string, unknown>> {
  const { record, paths } = machine;
  const e = record.engine;
  return {
    ConfigVersion: record.configVersion,
    Driver: machine.driver.inspectView(),
    DriverName: record.driver.name,
    HostOptions: {
      Driver: "",
      Memory: 0,
      Disk: 0,
      EngineOptions: {
        ArbitraryFlags: e.opts,
        Dns: null,
        GraphDir: "",
        Env: e.env,
        Ipv6: false,
        InsecureRegistry: e.insecureRegistries,
        Labels: e.labels,
        LogLevel: "",
        StorageDriver: e.storageDriver,
        SelinuxEnabled: false,
        TlsVerify: true,
        RegistryMirror: e.registryMirrors,
        InstallURL: e.installUrl,
        Port: e.port,
      },
      SwarmOptions: {
        IsSwarm: record.swarm !== undefined,
        Master: record.swarm?.role === "master",
        Role: record.swarm?.role ?? "",
        MasterName: record.swarm?.master ?? "",
        ArbitraryFlags: record.swarm?.opts ?? [],
      },
      AuthOptions: {
        CertDir: store.certsDir,
        CaCertPath: store.caCert,
        CaPrivateKeyPath: store.caKey,
        CaCertRemotePath: "",
        ServerCertPath: paths.serverCert,
        ServerKeyPath: paths.serverKey,
        ClientKeyPath: store.clientKey,
        ServerCertRemotePath: "",
        ServerKeyRemotePath: "",
        ClientCertPath: store.clientCert,
        ServerCertSANs: record.tls.sans,
        StorePath: paths.dir,
      },
    },
    Name: record.name,
    CreatedAt: record.createdAt,
    Swarm: session ? await swarmView(session, machine) : null,
    Certificates: {
      CA: await certSummary(paths.caCert),
      Client: await certSummary(paths.clientCert),
      Server: await certSummary(paths.serverCert),
    },
  };
}

/**
 * What the docker client needs to reach a machine (`env`, `config`, `ls`,
 * `version NAME`): the engine URL and the certificate set in the machine
 * directory. The checks here are local (files and X.509 fields); only
 * `verifyEngine` touches the network.
 */
import { readFile } from "node:fs/promises";
import { certSetProblems, parseCert, type CertSetPem } from "../certs/check.js";
import { getEngineVersion, parseTcpUrl, type EngineEndpoint, type EngineVersion } from "../docker/engine-api.js";
import { CertificateError } from "./errors.js";
import type { Machine } from "./open.js";
import { opContext, type Session } from "./session.js";

export interface Connection {
  url: string;
  endpoint: EngineEndpoint;
  /** DOCKER_CERT_PATH: the machine directory holding ca.pem, cert.pem and key.pem. */
  certDir: string;
  serverCertPem: string;
}

const EXPIRY_WARNING_DAYS = 30;

async function readCertSet(machine: Machine): Promise<CertSetPem> {
  const p = machine.paths;
  const read = (f: string) =>
    readFile(f, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new CertificateError(
        `The certificates of "${machine.record.name}" are incomplete (${f}: ${err.code === "ENOENT" ? "missing" : err.code}). Run "tsm regenerate-certs ${machine.record.name}"`,
        { cause: err },
      );
    });
  const [caPem, clientCertPem, clientKeyPem, serverCertPem] = await Promise.all([
    read(p.caCert),
    read(p.clientCert),
    read(p.clientKey),
    read(p.serverCert),
  ]);
  return { caPem, clientCertPem, clientKeyPem, serverCertPem };
}

/** Resolves the machine's engine URL and checks its certificates locally. Throws CertificateError with the remedy. */
export async function machineConnection(session: Session, machine: Machine): Promise<Connection> {
  const url = await machine.driver.getUrl(opContext(session, machine.record.name));
  const { host, port } = parseTcpUrl(url);
  const set = await readCertSet(machine);
  let problems: string[];
  try {
    problems = certSetProblems(set, host, session.now());
  } catch (err) {
    throw new CertificateError(
      `The certificates of "${machine.record.name}" cannot be read (${(err as Error).message}). Run "tsm regenerate-certs ${machine.record.name}"`,
      { cause: err },
    );
  }
  if (problems.length > 0) {
    throw new CertificateError(
      `The certificates of "${machine.record.name}" are not valid for ${url}: ${problems.join("; ")}. Run "tsm regenerate-certs ${machine.record.name}"`,
    );
  }
  warnIfExpiringSoon(session, machine.record.name, set);
  return {
    url,
    endpoint: { host, port, tls: { ca: set.caPem, cert: set.clientCertPem, key: set.clientKeyPem } },
    certDir: machine.paths.dir,
    serverCertPem: set.serverCertPem,
  };
}

function warnIfExpiringSoon(session: Session, name: string, set: CertSetPem): void {
  const limit = session.now().getTime() + EXPIRY_WARNING_DAYS * 86_400_000;
  for (const [what, pem] of [
    ["CA certificate", set.caPem],
    ["client certificate", set.clientCertPem],
    ["server certificate", set.serverCertPem],
  ] as const) {
    const notAfter = new Date(parseCert(pem).validTo);
    if (notAfter.getTime() < limit) {
      session.io.err(`Warning: the ${what} of "${name}" expires on ${notAfter.toISOString().slice(0, 10)}: run "tsm regenerate-certs${what === "server certificate" ? "" : " --client-certs"} ${name}"\n`);
    }
  }
}

/** A live mutual-TLS request to the engine (`env --check`, `config --check`). */
export async function verifyEngine(connection: Connection, options: { timeoutMs: number; signal?: AbortSignal }): Promise<EngineVersion> {
  try {
    return await getEngineVersion(connection.endpoint, options);
  } catch (err) {
    throw new CertificateError(`TLS check of ${connection.url} failed: ${(err as Error).message}`, { cause: err });
  }
}

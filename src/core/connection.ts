/**
 * What the docker client needs to reach a machine (`env`, `config`, `ls`,
 * `version NAME`): the engine URL and the certificate set in the machine
 * directory. The checks here are local (files and X.509 fields); only
 * `verifyEngine` touches the network.
 */
import { readFile, readFileSync } from "node:fs";
import { certSetProblems, keyPairProblem, parseCert, type CertSetPem, type KeyPairFiles } from "../certs/check.js";
import { readValidStamp, stampProblems } from "../certs/stamp.js";
import { getEngineVersion, parseTcpUrl, type EngineEndpoint, type EngineVersion } from "../docker/engine-api.js";
import { CertificateError } from "../model/errors.js";
import type { MachinePaths } from "../store/paths.js";
import type { Machine } from "./machine.js";
import { opContext, type Session } from "./session.js";

export interface Connection {
  url: string;
  host: string;
  port: number;
  /** DOCKER_CERT_PATH: the machine directory holding ca.pem, cert.pem and key.pem. */
  certDir: string;
}

/** A connection with the client's TLS material loaded, for talking to the engine. */
export interface TlsConnection extends Connection {
  endpoint: EngineEndpoint;
}

const EXPIRY_WARNING_DAYS = 30;

async function readCertSet(machine: Machine): Promise<CertSetPem> {
  const p = machine.paths;
  const read = (f: string) =>
    new Promise<string>((resolve, reject) =>
      readFile(f, "utf8", (err, text) =>
        err
          ? reject(
              new CertificateError(
                `The certificates of "${machine.record.name}" are incomplete (${f}: ${err.code === "ENOENT" ? "missing" : err.code}). Run "tsm regenerate-certs ${machine.record.name}"`,
                { cause: err },
              ),
            )
          : resolve(text),
      ),
    );
  const [caPem, clientCertPem, clientKeyPem, serverCertPem] = await Promise.all([
    read(p.caCert),
    read(p.clientCert),
    read(p.clientKey),
    read(p.serverCert),
  ]);
  return { caPem, clientCertPem, clientKeyPem, serverCertPem };
}

type Validity = Array<{ what: string; notAfter: Date }>;

/**
 * Problems of the machine's certificate set for `host`, and their expiry
 * dates. Uses the verified stamp when it still matches the files (no
 * node:crypto needed), else parses and checks every certificate.
 */
async function localCheck(machine: Machine, host: string, now: Date, set?: CertSetPem): Promise<{ problems: string[]; validity: Validity }> {
  const stamp = readValidStamp(machine.paths);
  const fromStamp = stamp && stampProblems(stamp, host, now);
  if (stamp && fromStamp) {
    return {
      problems: fromStamp,
      validity: [
        { what: "CA certificate", notAfter: new Date(stamp.validity.ca.notAfter) },
        { what: "client certificate", notAfter: new Date(stamp.validity.client.notAfter) },
        { what: "server certificate", notAfter: new Date(stamp.validity.server.notAfter) },
      ],
    };
  }
  const pems = set ?? (await readCertSet(machine));
  try {
    const problems = await certSetProblems(pems, host, now);
    const validity: Validity = [];
    for (const [what, pem] of [
      ["CA certificate", pems.caPem],
      ["client certificate", pems.clientCertPem],
      ["server certificate", pems.serverCertPem],
    ] as const) {
      validity.push({ what, notAfter: new Date((await parseCert(pem)).validTo) });
    }
    return { problems, validity };
  } catch (err) {
    throw new CertificateError(
      `The certificates of "${machine.record.name}" cannot be read (${(err as Error).message}). Run "tsm regenerate-certs ${machine.record.name}"`,
      { cause: err },
    );
  }
}

async function checked(session: Session, machine: Machine, set?: CertSetPem): Promise<Connection> {
  const url = await machine.driver.getUrl(opContext(session, machine.record.name));
  const { host, port } = parseTcpUrl(url);
  const { problems, validity } = await localCheck(machine, host, session.now(), set);
  if (problems.length > 0) {
    throw new CertificateError(
      `The certificates of "${machine.record.name}" are not valid for ${url}: ${problems.join("; ")}. Run "tsm regenerate-certs ${machine.record.name}"`,
    );
  }
  warnIfExpiringSoon(session, machine.record.name, validity);
  return { url, host, port, certDir: machine.paths.dir };
}

/** Resolves the machine's engine URL and checks its certificates locally. Throws CertificateError with the remedy. */
export function machineConnection(session: Session, machine: Machine): Promise<Connection> {
  return checked(session, machine);
}

/** machineConnection plus the client's TLS material, for requests to the engine. */
export async function machineTlsConnection(session: Session, machine: Machine): Promise<TlsConnection> {
  const set = await readCertSet(machine);
  const connection = await checked(session, machine, set);
  return { ...connection, endpoint: { host: connection.host, port: connection.port, name: machine.record.name, tls: { ca: set.caPem, cert: set.clientCertPem, key: set.clientKeyPem } } };
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? undefined : "";
  }
}

/**
 * Is each key of the machine's set (client and server pair) its certificate's? For `ls`,
 * which shows a mismatch as an error row. Costs a few stat calls while the verified stamp
 * still describes the files (it vouches for the pairs it covers); only a pair the stamp
 * does not vouch for is parsed and compared. A pair with neither file is not reported
 * here (a set that was never written).
 */
export async function keyPairProblems(paths: MachinePaths): Promise<string[]> {
  const stamp = readValidStamp(paths);
  const pairs: Array<Omit<KeyPairFiles, "certPem" | "keyPem">> = [];
  if (!stamp) pairs.push({ what: "client", certFile: paths.clientCert, keyFile: paths.clientKey });
  if (!stamp?.files.serverKey) pairs.push({ what: "server", certFile: paths.serverCert, keyFile: paths.serverKey });
  const problems: string[] = [];
  for (const pair of pairs) {
    const problem = await keyPairProblem({ ...pair, certPem: readIfThere(pair.certFile), keyPem: readIfThere(pair.keyFile) });
    if (problem) problems.push(problem);
  }
  return problems;
}

function warnIfExpiringSoon(session: Session, name: string, validity: Validity): void {
  const limit = session.now().getTime() + EXPIRY_WARNING_DAYS * 86_400_000;
  for (const { what, notAfter } of validity) {
    if (notAfter.getTime() < limit) {
      session.io.err(`Warning: the ${what} of "${name}" expires on ${notAfter.toISOString().slice(0, 10)}: run "tsm regenerate-certs${what === "server certificate" ? "" : " --client-certs"} ${name}"\n`);
    }
  }
}

/** A live mutual-TLS request to the engine (`env --check`, `config --check`). */
export async function verifyEngine(connection: TlsConnection, options: { timeoutMs: number; signal?: AbortSignal }): Promise<EngineVersion> {
  try {
    return await getEngineVersion(connection.endpoint, options);
  } catch (err) {
    throw new CertificateError(`TLS check of ${connection.url} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** machineTlsConnection followed by a live request: what `--check` means. */
export async function checkedLive(session: Session, machine: Machine): Promise<TlsConnection> {
  const connection = await machineTlsConnection(session, machine);
  await verifyEngine(connection, { timeoutMs: 20_000, signal: session.signal });
  return connection;
}

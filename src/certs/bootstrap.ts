/**
 * Puts certificates on disk: the store-wide CA and client certificate (created
 * on first need, under the store lock so concurrent `create`s agree on one CA),
 * and each machine's server certificate with copies of the client set in the
 * machine directory (that directory is DOCKER_CERT_PATH).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CaDamagedError, FileIoError } from "../model/errors.js";
import { makeDir } from "../store/atomic.js";
import { recoverFileSet, writeFileSet, type SetFile } from "../store/file-set.js";
import type { StorePaths } from "../store/paths.js";
import { createCa, issueClientCert, issueServerCert, type IssuedCert } from "./authority.js";
import { crypto } from "./check.js";
import { writeCertStamp } from "./stamp.js";

export interface BootstrapResult {
  ca: IssuedCert;
  client: IssuedCert;
  createdCa: boolean;
  createdClient: boolean;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FileIoError("read", file, err);
  }
}

/** The certificate subject's organisation: the local user, as Docker Machine does. */
export function certOrganization(env: Readonly<Record<string, string | undefined>>): string {
  let user = env.USER || env.USERNAME;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return user;
}

async function usable(certPem: string | undefined, keyPem: string | undefined, now: Date, issuer?: string): Promise<boolean> {
  if (!certPem || !keyPem) return false;
  const { createPrivateKey, X509Certificate } = await crypto();
  const parseCert = (pem: string) => new X509Certificate(pem);
  try {
    const cert = parseCert(certPem);
    if (now > new Date(cert.validTo) || now < new Date(cert.validFrom)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
    if (issuer !== undefined) {
      const ca = parseCert(issuer);
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the store's CA cannot be used, or undefined when it can. Both files present, each
 * readable, the key the certificate's, the certificate a CA valid now.
 */
async function caDamage(paths: StorePaths, certPem: string | undefined, keyPem: string | undefined, now: Date): Promise<CaDamagedError | undefined> {
  if (certPem === undefined) return new CaDamagedError(paths.caCert, `is missing (its key ${paths.caKey} is there)`);
  if (keyPem === undefined) return new CaDamagedError(paths.caKey, `is missing (the CA certificate ${paths.caCert} is there)`);
  const { createPrivateKey, X509Certificate } = await crypto();
  let cert: InstanceType<typeof X509Certificate>;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return new CaDamagedError(paths.caCert, "is not a valid certificate (damaged or truncated)", { cause: err });
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return new CaDamagedError(paths.caKey, "is not a valid private key (damaged or truncated)", { cause: err });
  }
  if (!cert.checkPrivateKey(key)) return new CaDamagedError(paths.caKey, `does not match the CA certificate ${paths.caCert}`);
  if (!cert.ca) return new CaDamagedError(paths.caCert, "is not a CA certificate");
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now > to) return new CaDamagedError(paths.caCert, `expired on ${to.toISOString().slice(0, 10)}`);
  if (now < from) return new CaDamagedError(paths.caCert, `is not valid until ${from.toISOString()} (is the clock right?)`);
  return undefined;
}

export interface BootstrapOptions {
  organization: string;
  now?: Date;
  /** Replace the CA and client certificate even when they are valid (`regenerate-certs --client-certs`). */
  force?: boolean;
  log?: (line: string) => void;
}

/** A PEM file of a set: certificates 0644, keys 0600. */
const pemFile = (file: string, pem: string, secret: boolean): SetFile => ({ name: path.basename(file), content: pem, mode: secret ? 0o600 : 0o644 });

/**
 * Makes sure a valid CA and a client certificate issued by it exist. The caller holds
 * the store lock.
 *
 * The CA is created only where there is none (neither ca.pem nor ca-key.pem), or
 * replaced on purpose (`force`: regenerate-certs --client-certs, which works whatever
 * state the old one is in). An existing CA that cannot be used is an error
 * (CaDamagedError), never replaced: a new key would orphan every machine's certificates.
 * The client certificate, which nothing else depends on, is re-issued when it is missing,
 * expired, mismatched or from another CA.
 *
 * Each pair is written as one unit with the directory's redo journal
 * (src/store/file-set.ts): after a crash the CA is the old pair or the new pair, never a
 * key of one and a certificate of the other; a journal a crash left is replayed first.
 */
export async function ensureCaAndClient(paths: StorePaths, options: BootstrapOptions): Promise<BootstrapResult> {
  const now = options.now ?? new Date();
  makeDir(paths.certsDir);
  recoverFileSet(paths.certsDir);
  let caPem = await readIfExists(paths.caCert);
  let caKeyPem = await readIfExists(paths.caKey);
  const files: SetFile[] = [];
  let createdCa = false;
  if (options.force || (caPem === undefined && caKeyPem === undefined)) {
    options.log?.(`Creating CA: ${paths.caCert}`);
    const ca = await createCa({ organization: options.organization, now });
    files.push(pemFile(paths.caKey, ca.keyPem, true), pemFile(paths.caCert, ca.certPem, false));
    caPem = ca.certPem;
    caKeyPem = ca.keyPem;
    createdCa = true;
  } else {
    const damage = await caDamage(paths, caPem, caKeyPem, now);
    if (damage) throw damage;
  }
  const ca: IssuedCert = { certPem: caPem!, keyPem: caKeyPem! };
  let clientPem = await readIfExists(paths.clientCert);
  let clientKeyPem = await readIfExists(paths.clientKey);
  let createdClient = false;
  if (createdCa || !(await usable(clientPem, clientKeyPem, now, ca.certPem))) {
    options.log?.(`Creating client certificate: ${paths.clientCert}`);
    const client = await issueClientCert({ ca, organization: `${options.organization}.<bootstrap>`, commonName: "tsm client", now });
    files.push(pemFile(paths.clientKey, client.keyPem, true), pemFile(paths.clientCert, client.certPem, false));
    clientPem = client.certPem;
    clientKeyPem = client.keyPem;
    createdClient = true;
  }
  // A new CA and its client certificate are one unit too: a crash never leaves a client certificate of the old CA beside a new one.
  if (files.length > 0) writeFileSet(paths.certsDir, files);
  return { ca, client: { certPem: clientPem!, keyPem: clientKeyPem! }, createdCa, createdClient };
}

/** The names a machine's server certificate covers: its address, localhost, 127.0.0.1 and the --tls-san values. */
export function serverSans(address: string, extra: readonly string[]): string[] {
  return [...new Set([address, "localhost", "127.0.0.1", ...extra].filter((s) => s !== ""))];
}

export interface MachineCertOptions {
  name: string;
  organization: string;
  bootstrap: BootstrapResult;
  sans: readonly string[];
  clientAuth?: boolean;
  now?: Date;
}

/**
 * Issues the machine's server certificate and copies the client set beside it, all five
 * files as one unit, then the verified stamp. The caller holds the machine lock.
 */
export async function writeMachineCerts(paths: StorePaths, options: MachineCertOptions): Promise<IssuedCert> {
  const mp = paths.machine(options.name);
  makeDir(mp.dir);
  const server = await issueServerCert({
    ca: options.bootstrap.ca,
    organization: `${options.organization}.${options.name}`,
    commonName: options.name,
    sans: options.sans,
    clientAuth: options.clientAuth ?? false,
    now: options.now ?? new Date(),
  });
  // One unit (src/store/file-set.ts): a crash leaves the old set or the new one, never a key beside another generation's certificate.
  writeFileSet(mp.dir, [
    pemFile(mp.serverKey, server.keyPem, true),
    pemFile(mp.serverCert, server.certPem, false),
    pemFile(mp.caCert, options.bootstrap.ca.certPem, false),
    pemFile(mp.clientCert, options.bootstrap.client.certPem, false),
    pemFile(mp.clientKey, options.bootstrap.client.keyPem, true),
  ]);
  await writeCertStamp(mp);
  return server;
}

/**
 * Bring your own CA (Docker Machine's --tls-ca-cert/--tls-ca-key, --tls-client-cert/
 * --tls-client-key, or MACHINE_TLS_*): server certificates are signed with the given CA
 * and clients get the given client pair. The CA key is read where it is, never copied
 * into the store: only the CA certificate (public) goes into the machine directory, as
 * DOCKER_CERT_PATH needs it. Without a given client pair, a client certificate is issued
 * from the given CA for the machine directory only; the store's own CA and client
 * certificate are never touched, so machines on the store's CA keep working.
 */
import { readFileSync } from "node:fs";
import { CertificateError, FileIoError, UsageError } from "../model/errors.js";
import { issueClientCert, type IssuedCert } from "./authority.js";
import type { BootstrapResult } from "./bootstrap.js";
import { crypto } from "./check.js";

/** Absolute paths as the user gave them; undefined = not given. */
export interface ByoFiles {
  readonly caCert?: string | undefined;
  readonly caKey?: string | undefined;
  readonly clientCert?: string | undefined;
  readonly clientKey?: string | undefined;
}

export interface ByoOptions {
  organization: string;
  now: Date;
  log?: (line: string) => void;
  /** The store's CA and client, for a client pair given without a CA (it must then be the store CA's). */
  storeAuthority: () => Promise<BootstrapResult>;
}

function readPem(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new FileIoError("read", file, err);
  }
}

/** Both halves of a pair, or neither: half a pair would silently mix with the store's files. */
function pairGiven(cert: string | undefined, key: string | undefined, what: "ca" | "client"): boolean {
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      `--tls-${what}-cert and --tls-${what}-key go together (or MACHINE_TLS_${what.toUpperCase()}_CERT and MACHINE_TLS_${what.toUpperCase()}_KEY): give both`,
    );
  }
  return cert !== undefined;
}

/**
 * The key as forge can sign with it (PKCS#1 RSA), after checking it is the certificate's.
 * Throws CertificateError naming both files.
 */
async function checkedPair(certFile: string, keyFile: string, what: "CA" | "client", now: Date): Promise<{ certPem: string; keyPem: string; cert: import("node:crypto").X509Certificate }> {
  const { createPrivateKey, X509Certificate } = await crypto();
  const certPem = readPem(certFile);
  const keyText = readPem(keyFile);
  let cert: import("node:crypto").X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CertificateError(`The ${what} certificate ${certFile} is not a PEM certificate`, { cause: err });
  }
  let key: import("node:crypto").KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw new CertificateError(`The ${what} key ${keyFile} is not an unencrypted PEM private key`, { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CertificateError(`The ${what} key ${keyFile} does not match the ${what} certificate ${certFile}: give the key that belongs to that certificate`);
  }
  if (now > new Date(cert.validTo)) throw new CertificateError(`The ${what} certificate ${certFile} expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`);
  if (now < new Date(cert.validFrom)) throw new CertificateError(`The ${what} certificate ${certFile} is not valid until ${new Date(cert.validFrom).toISOString()} (is the clock right?)`);
  if (what === "CA" && !cert.ca) throw new CertificateError(`The certificate ${certFile} given with --tls-ca-cert is not a CA certificate (basicConstraints CA:TRUE)`);
  if (what === "CA" && key.asymmetricKeyType !== "rsa") throw new CertificateError(`The CA key ${keyFile} is ${key.asymmetricKeyType ?? "not RSA"}: tsm signs with RSA CA keys only`);
  const keyPem = key.asymmetricKeyType === "rsa" ? (key.export({ type: "pkcs1", format: "pem" }) as string) : keyText;
  return { certPem, keyPem, cert };
}

/** The authority a machine's certificates come from when the user brings a CA or a client pair. */
export async function byoAuthority(files: ByoFiles, options: ByoOptions): Promise<BootstrapResult> {
  const caGiven = pairGiven(files.caCert, files.caKey, "ca");
  const clientGiven = pairGiven(files.clientCert, files.clientKey, "client");
  let ca: IssuedCert;
  let caFile: string;
  if (caGiven) {
    const pair = await checkedPair(files.caCert!, files.caKey!, "CA", options.now);
    ca = { certPem: pair.certPem, keyPem: pair.keyPem };
    caFile = files.caCert!;
  } else {
    const store = await options.storeAuthority();
    if (!clientGiven) return store;
    ca = store.ca;
    caFile = "the store's CA";
  }
  if (clientGiven) {
    const pair = await checkedPair(files.clientCert!, files.clientKey!, "client", options.now);
    const { X509Certificate } = await crypto();
    const caCert = new X509Certificate(ca.certPem);
    if (!pair.cert.checkIssued(caCert) || !pair.cert.verify(caCert.publicKey)) {
      throw new CertificateError(`The client certificate ${files.clientCert} was not issued by ${caFile}: give a client certificate that CA signed`);
    }
    return { ca, client: { certPem: pair.certPem, keyPem: readPem(files.clientKey!) }, createdCa: false, createdClient: false };
  }
  options.log?.(`Creating client certificate from the CA ${caFile} (kept in the machine directory only)`);
  const client = await issueClientCert({ ca, organization: `${options.organization}.<bootstrap>`, commonName: "tsm client", now: options.now });
  return { ca, client, createdCa: false, createdClient: true };
}

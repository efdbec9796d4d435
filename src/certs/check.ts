/**
 * Local certificate checks for `env`, `config` and `inspect`, with Node's
 * native X509Certificate: no node-forge and no network, so these stay fast.
 */
import type { X509Certificate } from "node:crypto";
import { isIpLiteral } from "../model/address.js";

/** node:crypto, loaded on first use: most commands never look at a certificate. */
export function crypto(): Promise<typeof import("node:crypto")> {
  return import("node:crypto");
}

export interface CertInfo {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Subject alternative names as written: IPs and DNS names. */
  sans: string[];
  serialNumber: string;
  fingerprint256: string;
}

export async function parseCert(pem: string): Promise<X509Certificate> {
  return new (await crypto()).X509Certificate(pem);
}

export function describeCert(cert: X509Certificate): CertInfo {
  return {
    subject: cert.subject.replace(/\n/g, ", "),
    issuer: cert.issuer.replace(/\n/g, ", "),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    sans: parseSubjectAltName(cert.subjectAltName),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

/** "DNS:localhost, IP Address:127.0.0.1" -> ["localhost", "127.0.0.1"]. */
export function parseSubjectAltName(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/,\s*/)
    .map((part) => part.replace(/^(DNS|IP Address):/, "").trim())
    .filter((s) => s !== "");
}

export interface CertSetPem {
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  serverCertPem: string;
}

export type PairName = "client" | "server";

/** A key and the certificate it belongs with, as PEM text; undefined for a missing file. */
export interface KeyPairFiles {
  what: PairName;
  certPem: string | undefined;
  keyPem: string | undefined;
  certFile: string;
  keyFile: string;
}

/**
 * What is wrong with one key pair, as check.ts phrases problems ("the server key does not
 * match the server certificate"), or undefined when the key is the certificate's. Both
 * files missing is not this check's business (an incomplete set is reported elsewhere).
 */
export async function keyPairProblem(pair: KeyPairFiles): Promise<string | undefined> {
  const { what, certPem, keyPem } = pair;
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined) return `the ${what} certificate is missing (${pair.certFile})`;
  if (keyPem === undefined) return `the ${what} key is missing (${pair.keyFile})`;
  const { createPrivateKey, X509Certificate } = await crypto();
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return `the ${what} certificate cannot be read (${pair.certFile})`;
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return `the ${what} key cannot be read (${pair.keyFile})`;
  }
  return cert.checkPrivateKey(key) ? undefined : `the ${what} key does not match the ${what} certificate`;
}

/** Does the certificate name this host (IP or DNS name)? */
export function certCovers(cert: X509Certificate, address: string): boolean {
  if (isIpLiteral(address)) return cert.checkIP(address) !== undefined;
  return cert.checkHost(address) !== undefined;
}

function validityProblem(what: string, cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return `the ${what} is not valid until ${from.toISOString()}`;
  if (now > to) return `the ${what} expired on ${to.toISOString()}`;
  return undefined;
}

/**
 * Everything that would make the docker client fail against this machine,
 * as short phrases; an empty list means the set is usable for `address`.
 */
export async function certSetProblems(set: CertSetPem, address: string, now: Date): Promise<string[]> {
  const { createPrivateKey, X509Certificate } = await crypto();
  const problems: string[] = [];
  const ca = new X509Certificate(set.caPem);
  const client = new X509Certificate(set.clientCertPem);
  const server = new X509Certificate(set.serverCertPem);
  for (const [what, cert] of [
    ["CA certificate", ca],
    ["client certificate", client],
    ["server certificate", server],
  ] as const) {
    const p = validityProblem(what, cert, now);
    if (p) problems.push(p);
  }
  if (!client.checkIssued(ca) || !client.verify(ca.publicKey)) problems.push("the client certificate was not issued by the CA");
  if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) problems.push("the server certificate was not issued by the CA");
  if (!client.checkPrivateKey(createPrivateKey(set.clientKeyPem))) problems.push("the client key does not match the client certificate");
  if (!certCovers(server, address)) {
    problems.push(`the server certificate does not cover ${address} (it covers ${parseSubjectAltName(server.subjectAltName).join(", ") || "nothing"})`);
  }
  return problems;
}

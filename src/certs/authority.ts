/**
 * Issues X.509 certificates: the store's CA, the client certificate, and one
 * server certificate per machine. Keys come from Node's native crypto (fast,
 * off the main thread); node-forge only builds and signs the certificates.
 * This is the only module that imports node-forge, and it is loaded lazily:
 * only commands that issue certificates pay for it. No file system access here.
 */
import type * as Forge from "node-forge";
import { isIpLiteral } from "../model/address.js";

export interface KeyPairPem {
  /** PKCS#1 "RSA PRIVATE KEY" PEM, as Docker and Docker Machine use. */
  keyPem: string;
  publicPem: string;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

/** Validity periods. The CA outlives the certificates it signs. */
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 1080;

let forgeModule: typeof Forge | undefined;
async function forge(): Promise<typeof Forge> {
  forgeModule ??= ((await import("node-forge")) as unknown as { default: typeof Forge }).default;
  return forgeModule;
}

export async function generateRsaKeyPair(bits = 2048): Promise<KeyPairPem> {
  const { generateKeyPair } = await import("node:crypto");
  return new Promise((resolve, reject) => {
    generateKeyPair(
      "rsa",
      {
        modulusLength: bits,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs1", format: "pem" },
      },
      (err, publicPem, keyPem) => (err ? reject(err) : resolve({ keyPem, publicPem })),
    );
  });
}

interface Subject {
  organization: string;
  commonName: string;
}

/**
 * UTF8String, not forge's default PrintableString: user names and the
 * "<bootstrap>" suffix contain characters PrintableString forbids, and Go's
 * x509 parser (dockerd) then rejects the whole certificate.
 */
function subjectAttrs(f: typeof Forge, s: Subject): Forge.pki.CertificateField[] {
  // @types/node-forge types valueTagClass as an ASN.1 class; forge really takes the type tag here.
  const utf8 = f.asn1.Type.UTF8;
  return [
    { shortName: "O", value: s.organization, valueTagClass: utf8 } as unknown as Forge.pki.CertificateField,
    { shortName: "CN", value: s.commonName, valueTagClass: utf8 } as unknown as Forge.pki.CertificateField,
  ];
}

/** Random positive 128-bit serial number as hex (a leading 0 bit keeps it positive in DER). */
async function serialNumber(): Promise<string> {
  const bytes = (await import("node:crypto")).randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

function validity(cert: Forge.pki.Certificate, now: Date, days: number): void {
  // Backdated a little so a host whose clock lags ours still accepts the certificate.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  notBefore.setUTCSeconds(0, 0);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + days * 86_400_000);
}

export interface CaOptions {
  organization: string;
  now?: Date;
  days?: number;
}

export async function createCa(options: CaOptions): Promise<IssuedCert> {
  const f = await forge();
  const keys = await generateRsaKeyPair();
  const privateKey = f.pki.privateKeyFromPem(keys.keyPem);
  const cert = f.pki.createCertificate();
  cert.publicKey = f.pki.publicKeyFromPem(keys.publicPem);
  cert.serialNumber = await serialNumber();
  validity(cert, options.now ?? new Date(), options.days ?? CA_VALIDITY_DAYS);
  const subject = subjectAttrs(f, { organization: options.organization, commonName: "tsm CA" });
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(privateKey, f.md.sha256.create());
  return { certPem: f.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

export interface LeafOptions {
  ca: IssuedCert;
  organization: string;
  commonName: string;
  now?: Date;
  days?: number;
}

export interface ServerCertOptions extends LeafOptions {
  /** IP addresses and DNS names the certificate must cover. Duplicates are dropped. */
  sans: readonly string[];
  /** Also allow client authentication (a swarm manager talks to other nodes with it). */
  clientAuth?: boolean;
}

async function issueLeaf(options: LeafOptions, extensions: (f: typeof Forge) => unknown[]): Promise<IssuedCert> {
  const f = await forge();
  const keys = await generateRsaKeyPair();
  const caCert = f.pki.certificateFromPem(options.ca.certPem);
  const caKey = f.pki.privateKeyFromPem(options.ca.keyPem);
  const cert = f.pki.createCertificate();
  cert.publicKey = f.pki.publicKeyFromPem(keys.publicPem);
  cert.serialNumber = await serialNumber();
  validity(cert, options.now ?? new Date(), options.days ?? LEAF_VALIDITY_DAYS);
  cert.setSubject(subjectAttrs(f, { organization: options.organization, commonName: options.commonName }));
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    { name: "subjectKeyIdentifier" },
    ...extensions(f),
  ]);
  cert.sign(caKey, f.md.sha256.create());
  return { certPem: f.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

export function issueClientCert(options: LeafOptions): Promise<IssuedCert> {
  return issueLeaf(options, () => [
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", clientAuth: true },
  ]);
}

export function issueServerCert(options: ServerCertOptions): Promise<IssuedCert> {
  const altNames = [...new Set(options.sans.filter((s) => s !== ""))].map((san) =>
    isIpLiteral(san) ? { type: 7, ip: san } : { type: 2, value: san },
  );
  return issueLeaf(options, () => [
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: options.clientAuth === true },
    { name: "subjectAltName", altNames },
  ]);
}

import { X509Certificate } from "node:crypto";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueClientCert, issueServerCert, type IssuedCert } from "../../../src/certs/authority.js";
import { certSetProblems, parseSubjectAltName } from "../../../src/certs/check.js";

let ca: IssuedCert;
let otherCa: IssuedCert;
let client: IssuedCert;
let server: IssuedCert;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createCa({ organization: "ann" }), createCa({ organization: "mallory" })]);
  [client, server] = await Promise.all([
    issueClientCert({ ca, organization: "ann.<bootstrap>", commonName: "tsm client" }),
    issueServerCert({ ca, organization: "ann.dev", commonName: "dev", sans: ["10.0.0.5", "localhost", "127.0.0.1", "dev.example.com", "localhost"] }),
  ]);
});

describe("certificate authority", () => {
  it("makes a self-signed CA that may sign certificates", () => {
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.checkIssued(c)).toBe(true);
    expect(c.subject).toContain("O=ann");
    expect(ca.keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it("issues a server certificate covering every SAN once, signed by the CA", () => {
    const c = new X509Certificate(server.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(false);
    expect(c.verify(caCert.publicKey)).toBe(true);
    expect(parseSubjectAltName(c.subjectAltName).sort()).toEqual(["10.0.0.5", "127.0.0.1", "dev.example.com", "localhost"]);
    expect(c.checkIP("10.0.0.5")).toBe("10.0.0.5");
    expect(c.checkHost("dev.example.com")).toBe("dev.example.com");
    expect(c.checkIP("10.0.0.6")).toBeUndefined();
  });

  it("backdates notBefore and gives leaves 1080 days", () => {
    const c = new X509Certificate(client.certPem);
    const from = new Date(c.validFrom).getTime();
    const to = new Date(c.validTo).getTime();
    expect(Date.now() - from).toBeGreaterThan(4 * 60_000);
    expect(Math.round((to - from) / 86_400_000)).toBe(1080);
  });

  it("checks a complete set as usable, and names each problem otherwise", async () => {
    const set = { caPem: ca.certPem, clientCertPem: client.certPem, clientKeyPem: client.keyPem, serverCertPem: server.certPem };
    expect(await certSetProblems(set, "10.0.0.5", new Date())).toEqual([]);
    expect(await certSetProblems(set, "10.0.0.9", new Date())).toEqual([
      "the server certificate does not cover 10.0.0.9 (it covers 10.0.0.5, localhost, 127.0.0.1, dev.example.com)",
    ]);
    expect(await certSetProblems({ ...set, caPem: otherCa.certPem }, "10.0.0.5", new Date())).toEqual([
      "the client certificate was not issued by the CA",
      "the server certificate was not issued by the CA",
    ]);
    expect(await certSetProblems({ ...set, clientKeyPem: server.keyPem }, "10.0.0.5", new Date())).toEqual(["the client key does not match the client certificate"]);
    const later = new Date(Date.now() + 2000 * 86_400_000);
    expect(await certSetProblems(set, "10.0.0.5", later)).toEqual([
      expect.stringMatching(/^the client certificate expired on /),
      expect.stringMatching(/^the server certificate expired on /),
    ]);
  });
});

describe("mutual TLS with issued certificates", () => {
  let port = 0;
  let srv: https.Server;
  beforeAll(async () => {
    srv = https.createServer({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
      res.end('{"Version":"test"}');
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    port = (srv.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  function get(clientCert: IssuedCert, trust: string, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: "127.0.0.1", servername: host === "127.0.0.1" ? undefined : host, port, path: "/version", ca: trust, cert: clientCert.certPem, key: clientCert.keyPem, agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("connects with the CA-issued client certificate", async () => {
    await expect(get(client, ca.certPem)).resolves.toBe('{"Version":"test"}');
  });

  it("is refused with a client certificate from another CA", async () => {
    const foreign = await issueClientCert({ ca: otherCa, organization: "mallory", commonName: "x" });
    await expect(get(foreign, ca.certPem)).rejects.toThrow();
  });

  it("refuses a server name the certificate does not cover", async () => {
    await expect(get(client, ca.certPem, "other.example.com")).rejects.toThrow(/altnames|does not match|Hostname/i);
  });
});

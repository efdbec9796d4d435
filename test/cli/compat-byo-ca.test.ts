/**
 * Bring your own CA (Docker Machine's --tls-ca-cert/--tls-ca-key/--tls-client-cert/
 * --tls-client-key and MACHINE_TLS_*), end to end with none-driver machines: the server
 * certificate tsm issues verifies against the given CA, a real TLS engine stand-in that
 * trusts only that CA answers the client set tsm hands out, the CA key is never copied
 * into the store, and a key that is not the certificate's is refused in one line.
 */
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueClientCert } from "../../src/certs/authority.js";
import { runTsm, tempDir } from "../helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
let caCert: string;
let caKey: string;
let caPem: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tsm-byo-ca-"));
  const ca = await createCa({ organization: "corp" });
  caPem = ca.certPem;
  caCert = path.join(dir, "corp-ca.pem");
  caKey = path.join(dir, "corp-ca-key.pem");
  await writeFile(caCert, ca.certPem);
  await writeFile(caKey, ca.keyPem, { mode: 0o600 });
  const client = await issueClientCert({ ca, organization: "corp", commonName: "ci" });
  await writeFile(path.join(dir, "client.pem"), client.certPem);
  await writeFile(path.join(dir, "client-key.pem"), client.keyPem, { mode: 0o600 });
  const other = await createCa({ organization: "other" });
  await writeFile(path.join(dir, "other-key.pem"), other.keyPem, { mode: 0o600 });
});
afterAll(() => cleanup());

/** Every file under `root`, relative. */
async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)));
  return out;
}

/** An HTTPS engine stand-in with the machine's server certificate that only accepts clients of `ca`. */
async function engine(machineDir: string, ca: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = https.createServer(
    { cert: await readFile(path.join(machineDir, "server.pem")), key: await readFile(path.join(machineDir, "server-key.pem")), ca, requestCert: true, rejectUnauthorized: true },
    (_req, res) => {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ Version: "27.1.0", ApiVersion: "1.46", Os: "linux", Arch: "amd64" }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("bring your own CA", () => {
  it("signs the server certificate with the given CA; the engine trusting only that CA answers; no CA key is copied", async () => {
    const store = path.join(dir, "store-flags");
    // The engine needs the certificate before it can listen: create, then point a second machine at the listening port.
    const r = await runTsm(store, ["--tls-ca-cert", caCert, "--tls-ca-key", caKey, "create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "a"]);
    expect(r.exitCode).toBe(0);
    const mdir = path.join(store, "machines", "a");
    const ca = new X509Certificate(caPem);
    const server = new X509Certificate(await readFile(path.join(mdir, "server.pem")));
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(new X509Certificate(await readFile(path.join(mdir, "cert.pem"))).verify(ca.publicKey)).toBe(true);
    expect(await readFile(path.join(mdir, "ca.pem"), "utf8")).toBe(caPem);
    const stored = await files(store);
    expect(stored.filter((f) => /ca-key/.test(f))).toEqual([]);
    const caKeyText = (await readFile(caKey, "utf8")).trim();
    for (const f of stored) expect((await readFile(path.join(store, f), "utf8")).includes(caKeyText.split("\n")[1]!)).toBe(false);

    const e = await engine(mdir, caPem);
    try {
      const url = `tcp://127.0.0.1:${e.port}`;
      const b = await runTsm(store, ["--tls-ca-cert", caCert, "--tls-ca-key", caKey, "create", "-d", "none", "--url", url, "b"]);
      expect(b.exitCode).toBe(0);
      // b's server certificate is a different one, but a's engine trusts b's client pair: same CA.
      const v = await runTsm(store, ["version", "b"]);
      expect(v.stderr).toBe("");
      expect(v.stdout).toBe("27.1.0\n");
    } finally {
      await e.close();
    }
  });

  it("gives clients the given client pair (MACHINE_TLS_* variables)", async () => {
    const store = path.join(dir, "store-env");
    const env = {
      MACHINE_TLS_CA_CERT: caCert,
      MACHINE_TLS_CA_KEY: caKey,
      MACHINE_TLS_CLIENT_CERT: path.join(dir, "client.pem"),
      MACHINE_TLS_CLIENT_KEY: path.join(dir, "client-key.pem"),
    };
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "c"], { env });
    expect(r.exitCode).toBe(0);
    const mdir = path.join(store, "machines", "c");
    expect(await readFile(path.join(mdir, "cert.pem"), "utf8")).toBe(await readFile(path.join(dir, "client.pem"), "utf8"));
    expect(existsSync(path.join(store, "certs", "ca-key.pem"))).toBe(false);
  });

  it("refuses a CA key that is not the CA certificate's, in one line, and creates nothing", async () => {
    const store = path.join(dir, "store-bad");
    const r = await runTsm(store, ["--tls-ca-cert", caCert, "--tls-ca-key", path.join(dir, "other-key.pem"), "create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "bad"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Error: The CA key ${path.join(dir, "other-key.pem")} does not match the CA certificate ${caCert}`);
    expect(existsSync(path.join(store, "machines", "bad"))).toBe(false);
  });

  it("refuses half a pair as a usage error", async () => {
    const r = await runTsm(path.join(dir, "store-half"), ["--tls-ca-cert", caCert, "create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "half"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--tls-ca-cert and --tls-ca-key go together");
  });

  it("refuses a client certificate the CA did not issue", async () => {
    const r = await runTsm(path.join(dir, "store-foreign"), ["--tls-client-cert", path.join(dir, "client.pem"), "--tls-client-key", path.join(dir, "client-key.pem"), "create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "f"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/The client certificate .*client\.pem was not issued by the store's CA/);
  });
});

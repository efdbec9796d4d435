/**
 * Issue 11, defect 10: ls over many machines prints no Node warning (one abort listener
 * per machine used to pile up on the command's signal: 11 machines gave a
 * MaxListenersExceededWarning), and engines that answer with something other than
 * tsm's TLS get an ERRORS column in words, the raw OpenSSL text only under --debug.
 */
import { execFileSync } from "node:child_process";
import http from "node:http";
import https from "node:https";
import { createServer, type Server } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
const servers: Array<Server | http.Server | https.Server> = [];
const sockets = new Set<{ destroy(): void }>();

async function listen<T extends Server | http.Server | https.Server>(server: T): Promise<number> {
  servers.push(server);
  server.on("connection", (s: { destroy(): void; once(e: "close", f: () => void): void }) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

async function pointAt(name: string, port: number): Promise<void> {
  const file = path.join(store, "machines", name, "config.json");
  const rec = JSON.parse(await readFile(file, "utf8"));
  rec.driver.config.url = `tcp://127.0.0.1:${port}`;
  rec.engine.port = port;
  await writeFile(file, JSON.stringify(rec));
}

beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  const names = ["ssh", "plain", "otherca", "clientca", ...Array.from({ length: 10 }, (_, i) => `m${i}`)];
  for (const name of names) {
    const r = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  // Something that is not TLS: an SSH banner, and plain HTTP.
  await pointAt("ssh", await listen(createServer((s) => s.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))));
  await pointAt("plain", await listen(http.createServer((_q, r) => r.end("{}"))));
  // A TLS engine whose certificate comes from another CA.
  const other = path.join(store, "other");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${other}-key.pem`, "-out", `${other}.pem`, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const otherKey = await readFile(`${other}-key.pem`);
  const otherCert = await readFile(`${other}.pem`);
  await pointAt("otherca", await listen(https.createServer({ key: otherKey, cert: otherCert }, (_q, r) => r.end("{}"))));
  // The engine's own certificate, but it trusts another CA for clients (Node's server hangs up without an alert).
  const dir = path.join(store, "machines", "clientca");
  await pointAt(
    "clientca",
    await listen(
      https.createServer(
        { key: await readFile(path.join(dir, "server-key.pem")), cert: await readFile(path.join(dir, "server.pem")), ca: otherCert, requestCert: true, rejectUnauthorized: true, maxVersion: "TLSv1.2" },
        (_q, r) => r.end("{}"),
      ),
    ),
  );
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await cleanup();
});

function byName(stdout: string): Map<string, string> {
  return new Map(stdout.trimEnd().split("\n").slice(1).map((l) => [l.split(" ")[0]!, l]));
}

describe("ls over 14 machines", () => {
  it("prints no warning on stderr", async () => {
    const r = await runTsm(store, ["ls", "-t", "5"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(15);
  });

  it("says in words what is wrong with engines that do not speak tsm's TLS", async () => {
    const rows = byName((await runTsm(store, ["ls", "-t", "5"])).stdout);
    const where = (name: string) => /tcp:\/\/(127\.0\.0\.1:\d+)/.exec(rows.get(name)!)![1]!;
    expect(rows.get("ssh")).toMatch(new RegExp(`Unknown +Unable to query docker version: ${where("ssh")} is not a TLS server: is the Docker engine listening there with --tlsverify\\?$`));
    expect(rows.get("plain")).toMatch(new RegExp(`Unknown +Unable to query docker version: ${where("plain")} is not a TLS server: is the Docker engine listening there with --tlsverify\\?$`));
    expect(rows.get("otherca")).toMatch(new RegExp(`Unknown +Unable to query docker version: The engine at ${where("otherca")} presents a certificate signed by another CA: run "tsm regenerate-certs otherca"$`));
    expect(rows.get("clientca")).toMatch(
      new RegExp(`Unknown +Unable to query docker version: The engine at ${where("clientca")} closed the connection \\(is it serving TLS with a certificate from this CA\\?\\)$`),
    );
    for (const row of rows.values()) expect(row).not.toMatch(/SSL routines|EPROTO|openssl|0A00/);
  });

  it("--debug adds the raw TLS error on stderr", async () => {
    const r = await runTsm(store, ["--debug", "ls", "-t", "5", "--filter", "name=^ssh$"]);
    expect(r.stdout).not.toMatch(/SSL routines/);
    expect(r.stderr).toMatch(/\(ssh\) DBG \| .*wrong version number/);
  });
});

/**
 * A Docker Machine store is never harmed: pointed at one (a record in Docker Machine's format,
 * libmachine/host ConfigVersion 3), tsm reads it only to say what it is, refuses every write
 * before making any file, and never hints at removing Docker Machine's machines.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm } from "../helpers/cli.js";

/** Every file under `dir` with its bytes' hash and mtime, and every directory: a snapshot to compare. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out[`${rel}/`] = "dir";
        walk(p);
      } else {
        out[rel] = `${createHash("sha256").update(readFileSync(p)).digest("hex")} ${statSync(p).mtimeMs}`;
      }
    }
  };
  walk(dir);
  return out;
}

/** A Docker Machine store with one generic machine, written from Docker Machine's documented host struct (config version 3). */
function writeDockerMachineStore(root: string): void {
  const certs = path.join(root, "certs");
  const machine = path.join(root, "machines", "bar");
  mkdirSync(certs, { recursive: true });
  mkdirSync(machine, { recursive: true });
  for (const f of ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"]) writeFileSync(path.join(certs, f), `-----BEGIN ${f}-----\n`);
  const config = {
    ConfigVersion: 3,
    Driver: { IPAddress: "192.0.2.10", MachineName: "bar", SSHUser: "root", SSHPort: 22, SSHKeyPath: path.join(machine, "id_rsa"), StorePath: root, EnginePort: 2376 },
    DriverName: "generic",
    HostOptions: {
      Driver: "",
      Memory: 0,
      Disk: 0,
      EngineOptions: { Labels: ["app=1"], StorageDriver: "", TlsVerify: true, InstallURL: "https://get.docker.com" },
      SwarmOptions: { IsSwarm: false },
      AuthOptions: { CertDir: certs, CaCertPath: path.join(certs, "ca.pem"), StorePath: machine },
    },
    Name: "bar",
  };
  writeFileSync(path.join(machine, "config.json"), JSON.stringify(config, null, "    "));
  writeFileSync(path.join(machine, "id_rsa"), "key\n", { mode: 0o600 });
}

describe("a Docker Machine store", () => {
  let tmp = "";
  let store = "";
  let before: Record<string, string> = {};
  const tsm = (args: string[]) => runTsm(store, args);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "tsm-dmstore-"));
    store = path.join(tmp, "machine");
    writeDockerMachineStore(store);
    before = snapshot(store);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("ls names the machine as Docker Machine's and never suggests removing it", async () => {
    const r = await tsm(["ls"]);
    expect(r.stdout).toMatch(/^bar +unknown +Error .*Docker Machine machine \(config version 3\).*keep using docker-machine/m);
    expect(r.stdout + r.stderr).not.toMatch(/rm -f/);
    expect(snapshot(store)).toEqual(before);
  });

  it("read commands say what it is, with the record's exit status and no rm hint", async () => {
    for (const verb of ["inspect", "env", "url", "config"]) {
      const r = await tsm([verb, "bar"]);
      expect(r.exitCode, verb).toBe(6);
      expect(r.stderr, verb).toMatch(/"bar" is a Docker Machine machine/);
      expect(r.stderr, verb).not.toMatch(/rm -f/);
    }
    expect(snapshot(store)).toEqual(before);
  });

  it("every write is refused before any file is made: create, rm -f, regenerate-certs --client-certs", async () => {
    for (const args of [
      ["create", "-d", "none", "--url", "tcp://192.0.2.20:2376", "baz"],
      ["rm", "-f", "-y", "bar"],
      ["regenerate-certs", "-f", "--client-certs"],
    ]) {
      const r = await tsm(args);
      expect(r.exitCode, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(/is a Docker Machine store: tsm does not write into it/);
    }
    expect(snapshot(store)).toEqual(before);
  });
});

/**
 * The docker CLI context store writer over a temporary DOCKER_CONFIG: the layout the docker
 * CLI reads, the mark that keeps tsm off others' contexts, and config.json edits that keep
 * every other key. (test/cli/contexts.test.ts reads the result with the real docker CLI.)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextId, DockerContextStore, dockerConfigDir, type ContextSpec } from "../../../src/docker/contexts.js";

let dir: string;
let store: DockerContextStore;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tsm-contexts-"));
  store = new DockerContextStore(path.join(dir, "docker"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const mark = { machine: "a", store: "/home/u/.tsm" };
const spec = (over: Partial<ContextSpec> = {}): ContextSpec => ({
  name: "tsm-a",
  description: "tsm machine a",
  host: "tcp://192.0.2.10:2376",
  tls: { ca: "CA PEM\n", cert: "CERT PEM\n", key: "KEY PEM\n" },
  mark,
  ...over,
});
const id = createHash("sha256").update("tsm-a").digest("hex");
const metaFile = () => path.join(dir, "docker", "contexts", "meta", id, "meta.json");
const tlsFile = (f: string) => path.join(dir, "docker", "contexts", "tls", id, "docker", f);
const config = () => JSON.parse(readFileSync(path.join(dir, "docker", "config.json"), "utf8")) as Record<string, unknown>;

describe("docker context store", () => {
  it("finds the configuration directory: $DOCKER_CONFIG, else ~/.docker", () => {
    expect(dockerConfigDir({ DOCKER_CONFIG: "/x/y" }, "/home/u")).toBe("/x/y");
    expect(dockerConfigDir({ DOCKER_CONFIG: "" }, "/home/u")).toBe(path.join("/home/u", ".docker"));
    expect(dockerConfigDir({}, "/home/u")).toBe(path.join("/home/u", ".docker"));
  });

  it("names context directories by the SHA-256 of the name, as the docker CLI does", () => {
    // sha256("default"), a value the docker CLI's own tests use.
    expect(contextId("default")).toBe("37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f");
  });

  it("writes meta.json and the TLS files in the docker CLI's layout, the key 0600", () => {
    expect(store.write(spec())).toEqual({ kind: "absent" });
    expect(JSON.parse(readFileSync(metaFile(), "utf8"))).toEqual({
      Name: "tsm-a",
      Metadata: { Description: "tsm machine a", tsm: mark },
      Endpoints: { docker: { Host: "tcp://192.0.2.10:2376", SkipTLSVerify: false } },
    });
    expect(readFileSync(tlsFile("ca.pem"), "utf8")).toBe("CA PEM\n");
    expect(readFileSync(tlsFile("cert.pem"), "utf8")).toBe("CERT PEM\n");
    expect(readFileSync(tlsFile("key.pem"), "utf8")).toBe("KEY PEM\n");
    if (process.platform !== "win32") expect(statSync(tlsFile("key.pem")).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(tlsFile("ca.pem"))).sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
    expect(store.exists("tsm-a")).toBe(true);
    expect(store.ownership("tsm-a", mark)).toEqual({ kind: "ours" });
  });

  it("updates its own context in place (a new address, new certificates)", () => {
    store.write(spec());
    expect(store.write(spec({ host: "tcp://192.0.2.99:2376", tls: { ca: "CA2", cert: "CERT2", key: "KEY2" } }))).toEqual({ kind: "ours" });
    expect((JSON.parse(readFileSync(metaFile(), "utf8")) as { Endpoints: { docker: { Host: string } } }).Endpoints.docker.Host).toBe("tcp://192.0.2.99:2376");
    expect(readFileSync(tlsFile("key.pem"), "utf8")).toBe("KEY2");
  });

  it("never replaces or removes a context it did not create", () => {
    mkdirSync(path.dirname(metaFile()), { recursive: true });
    const theirs = JSON.stringify({ Name: "tsm-a", Metadata: { Description: "mine" }, Endpoints: { docker: { Host: "ssh://me@host" } } });
    writeFileSync(metaFile(), theirs);
    expect(store.write(spec())).toEqual({ kind: "foreign", why: "tsm did not create it" });
    expect(store.remove("tsm-a", mark)).toEqual({ kind: "foreign", why: "tsm did not create it" });
    expect(readFileSync(metaFile(), "utf8")).toBe(theirs);
    expect(existsSync(tlsFile("key.pem"))).toBe(false);
  });

  it("tells apart the same machine name in another store, and another machine", () => {
    store.write(spec());
    expect(store.ownership("tsm-a", { machine: "a", store: "/other/store" })).toEqual({ kind: "foreign", why: "it belongs to the tsm store /home/u/.tsm" });
    expect(store.ownership("tsm-a", { machine: "b", store: mark.store })).toEqual({ kind: "foreign", why: 'it belongs to the machine "a"' });
    expect(store.remove("tsm-a", { machine: "a", store: "/other/store" }).kind).toBe("foreign");
    expect(existsSync(metaFile())).toBe(true);
  });

  it("keeps a context whose meta.json is unreadable", () => {
    mkdirSync(path.dirname(metaFile()), { recursive: true });
    writeFileSync(metaFile(), "{not json");
    expect(store.write(spec())).toEqual({ kind: "foreign", why: "its meta.json is unreadable" });
    expect(readFileSync(metaFile(), "utf8")).toBe("{not json");
  });

  it("removes its own context, meta and TLS files", () => {
    store.write(spec());
    expect(store.remove("tsm-a", mark)).toEqual({ kind: "ours" });
    expect(existsSync(path.dirname(metaFile()))).toBe(false);
    expect(existsSync(path.join(dir, "docker", "contexts", "tls", id))).toBe(false);
    expect(store.exists("tsm-a")).toBe(false);
    expect(store.remove("tsm-a", mark)).toEqual({ kind: "absent" });
  });

  it("reads and sets currentContext, keeping every other key of config.json and its mode", () => {
    expect(store.current()).toBe("default");
    mkdirSync(path.join(dir, "docker"), { recursive: true });
    const original = { auths: { "registry.example": { auth: "dXNlcjpwYXNz" } }, credsStore: "pass", psFormat: "table {{.ID}}", currentContext: "desktop" };
    writeFileSync(path.join(dir, "docker", "config.json"), JSON.stringify(original, null, 2), { mode: 0o640 });
    expect(store.current()).toBe("desktop");
    store.setCurrent("tsm-a");
    expect(config()).toEqual({ ...original, currentContext: "tsm-a" });
    expect(Object.keys(config())).toEqual(Object.keys(original));
    if (process.platform !== "win32") expect(statSync(path.join(dir, "docker", "config.json")).mode & 0o777).toBe(0o640);
    expect(store.current()).toBe("tsm-a");
    // "default" is the absence of the key, as `docker context use default` leaves it.
    store.setCurrent("default");
    expect(config()).toEqual({ auths: original.auths, credsStore: "pass", psFormat: "table {{.ID}}" });
    expect(store.current()).toBe("default");
    expect(readdirSync(path.join(dir, "docker")).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("creates config.json (0600) when there is none", () => {
    store.setCurrent("tsm-a");
    expect(config()).toEqual({ currentContext: "tsm-a" });
    if (process.platform !== "win32") expect(statSync(path.join(dir, "docker", "config.json")).mode & 0o777).toBe(0o600);
  });

  it("refuses to edit a config.json that is not a JSON object, leaving it as it was", () => {
    mkdirSync(path.join(dir, "docker"), { recursive: true });
    writeFileSync(path.join(dir, "docker", "config.json"), "{ broken");
    expect(() => store.setCurrent("tsm-a")).toThrow(/config\.json is not a JSON object, so tsm leaves it alone/);
    expect(readFileSync(path.join(dir, "docker", "config.json"), "utf8")).toBe("{ broken");
  });

  it.skipIf(process.platform === "win32")("follows a config.json that is a symbolic link", () => {
    mkdirSync(path.join(dir, "docker"), { recursive: true });
    const real = path.join(dir, "dotfiles-config.json");
    writeFileSync(real, JSON.stringify({ detachKeys: "ctrl-e,e" }));
    symlinkSync(real, path.join(dir, "docker", "config.json"));
    store.setCurrent("tsm-a");
    expect(JSON.parse(readFileSync(real, "utf8"))).toEqual({ detachKeys: "ctrl-e,e", currentContext: "tsm-a" });
  });

  it("refuses names the docker CLI refuses", () => {
    expect(() => store.write(spec({ name: "default" }))).toThrow(/cannot be a Docker context name/);
    expect(() => store.write(spec({ name: "-x" }))).toThrow(/cannot be a Docker context name/);
  });
});

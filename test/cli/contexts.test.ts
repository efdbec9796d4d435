/**
 * Docker contexts as the real docker CLI sees them: the built tsm with the none driver and
 * a DOCKER_CONFIG of its own, read back with `docker context ls/inspect` (the docker
 * CLI's own reader of the files tsm writes). The current context is read from
 * `docker context ls` (its "Current" field), which every docker CLI with contexts has.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { baseEnv, runTsm, tempDir, type RunResult } from "../helpers/cli.js";
import { describeWithPrereqs, missingPrereqs } from "../helpers/prereq.js";

let dir: string;
let store: string;
let dockerConfig: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("tsm-contexts-"));
  store = path.join(dir, "store");
  dockerConfig = path.join(dir, "docker");
});
afterEach(() => cleanup());

/** tsm with contexts on, writing to this test's DOCKER_CONFIG. */
const tsm = (args: readonly string[], env: Record<string, string | undefined> = {}, s = store) =>
  runTsm(s, args, { env: { TSM_NO_CONTEXTS: undefined, DOCKER_CONFIG: dockerConfig, ...env } });

function docker(args: readonly string[]): Promise<RunResult> {
  const env: Record<string, string> = { ...baseEnv(), DOCKER_CONFIG: dockerConfig };
  return new Promise((resolve) => {
    execFile("docker", args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

interface Listed {
  Name: string;
  Current: boolean;
  DockerEndpoint: string;
  Description: string;
}
async function contexts(): Promise<Listed[]> {
  const r = await docker(["context", "ls", "--format", "{{json .}}"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Listed);
}
async function current(): Promise<string> {
  return (await contexts()).find((c) => c.Current)!.Name;
}
async function inspect(name: string): Promise<{ Name: string; Endpoints: { docker: { Host: string; SkipTLSVerify: boolean } }; TLSMaterial: Record<string, string[]>; Storage: { TLSPath: string } }> {
  const r = await docker(["--context", name, "context", "inspect"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as never[])[0]!;
}
const create = (name: string, port: number, ...more: string[]) => tsm(["create", "-d", "none", "--url", `tcp://127.0.0.1:${port}`, ...more, name]);
const machineFile = (name: string, f: string) => readFileSync(path.join(store, "machines", name, f), "utf8");

describeWithPrereqs("Docker contexts with the real docker CLI", missingPrereqs(["docker"]), () => {
  it("create writes tsm-NAME with the machine's endpoint and TLS material", async () => {
    const r = await create("a", 2376);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('Docker context "tsm-a" is ready: "tsm use a" makes it the current one.');
    const listed = (await contexts()).find((c) => c.Name === "tsm-a");
    expect(listed).toMatchObject({ DockerEndpoint: "tcp://127.0.0.1:2376", Current: false, Description: "tsm machine a (none)" });
    const c = await inspect("tsm-a");
    expect(c.Endpoints.docker).toEqual({ Host: "tcp://127.0.0.1:2376", SkipTLSVerify: false });
    expect(c.TLSMaterial.docker!.sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
    const tls = path.join(c.Storage.TLSPath, "docker");
    expect(readFileSync(path.join(tls, "ca.pem"), "utf8")).toBe(machineFile("a", "ca.pem"));
    expect(readFileSync(path.join(tls, "cert.pem"), "utf8")).toBe(machineFile("a", "cert.pem"));
    expect(readFileSync(path.join(tls, "key.pem"), "utf8")).toBe(machineFile("a", "key.pem"));
    // Creating a context does not switch to it.
    expect(await current()).toBe("default");
  });

  it("a create that fails leaves no context", async () => {
    const r = await tsm(["create", "-d", "none", "--url", "tcp://127.0.0.1:notaport", "bad"]);
    expect(r.exitCode).not.toBe(0);
    expect((await contexts()).map((c) => c.Name)).toEqual(["default"]);
  });

  it("use makes it current, keeps the rest of config.json, and --unset goes back to the previous context", async () => {
    expect((await docker(["context", "create", "mine", "--docker", "host=tcp://127.0.0.1:9"])).exitCode).toBe(0);
    expect((await docker(["context", "use", "mine"])).exitCode).toBe(0);
    const configFile = path.join(dockerConfig, "config.json");
    const before = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...before, auths: { "registry.example": { auth: "dTpw" } }, detachKeys: "ctrl-e,e" }));
    expect((await create("a", 2376)).exitCode).toBe(0);
    expect((await create("b", 2377)).exitCode).toBe(0);

    const used = await tsm(["use", "a"]);
    expect(used.exitCode, used.stderr).toBe(0);
    expect(used.stdout).toBe("tsm-a\n");
    expect(used.stderr).toBe('Current Docker context is now "tsm-a" (machine "a"); "tsm use --unset" goes back to "mine".\n');
    expect(await current()).toBe("tsm-a");
    const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ currentContext: "tsm-a", auths: { "registry.example": { auth: "dTpw" } }, detachKeys: "ctrl-e,e" });

    // From one machine to another: --unset still goes back to where the user came from.
    expect((await tsm(["use", "b"])).stderr).toContain('goes back to "mine"');
    expect(await current()).toBe("tsm-b");
    const unset = await tsm(["use", "--unset"]);
    expect(unset.exitCode, unset.stderr).toBe(0);
    expect(unset.stdout).toBe("mine\n");
    expect(unset.stderr).toBe('Current Docker context is "mine" again (was "tsm-b").\n');
    expect(await current()).toBe("mine");
    expect(JSON.parse(readFileSync(configFile, "utf8"))).toMatchObject({ auths: { "registry.example": { auth: "dTpw" } }, detachKeys: "ctrl-e,e" });
    // Nothing of tsm's is current now: --unset changes nothing.
    const again = await tsm(["use", "--unset"]);
    expect(again.stdout).toBe("mine\n");
    expect(again.stderr).toBe('The current Docker context "mine" is not a tsm machine\'s: nothing to undo.\n');
    expect(await current()).toBe("mine");
  });

  it("use warns when DOCKER_HOST would override the context", async () => {
    expect((await create("a", 2376)).exitCode).toBe(0);
    const r = await tsm(["use", "a"], { DOCKER_HOST: "tcp://127.0.0.1:1" });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('Warning: DOCKER_HOST is set in this environment and wins over the current context: run eval "$(tsm env -u)" for docker to use "tsm-a".');
  });

  it("create --activate makes the new machine current; rm of the current machine switches back and says so", async () => {
    expect((await docker(["context", "create", "mine", "--docker", "host=tcp://127.0.0.1:9"])).exitCode).toBe(0);
    expect((await docker(["context", "use", "mine"])).exitCode).toBe(0);
    const r = await create("b", 2377, "--activate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("tsm-b\n");
    expect(r.stderr).toContain('Current Docker context is now "tsm-b"');
    expect(await current()).toBe("tsm-b");

    const rm = await tsm(["rm", "-y", "b"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(rm.stderr).toContain('The current Docker context was "tsm-b": switched back to "mine".');
    expect(await current()).toBe("mine");
    expect((await contexts()).map((c) => c.Name)).not.toContain("tsm-b");
    expect((await docker(["context", "inspect", "tsm-b"])).exitCode).not.toBe(0);
  });

  it("rm of the current machine falls back to default when the previous context is gone", async () => {
    expect((await docker(["context", "create", "gone", "--docker", "host=tcp://127.0.0.1:9"])).exitCode).toBe(0);
    expect((await docker(["context", "use", "gone"])).exitCode).toBe(0);
    expect((await create("b", 2377, "--activate")).exitCode).toBe(0);
    expect((await docker(["context", "rm", "gone"])).exitCode).toBe(0);
    const rm = await tsm(["rm", "-y", "b"]);
    expect(rm.stderr).toContain('The current Docker context was "tsm-b": switched back to "default" (the previous one, "gone", no longer exists).');
    expect(await current()).toBe("default");
  });

  it("rm of a machine that is not current removes its context only", async () => {
    expect((await create("a", 2376)).exitCode).toBe(0);
    expect((await create("b", 2377, "--activate")).exitCode).toBe(0);
    const rm = await tsm(["rm", "-y", "a"]);
    expect(rm.exitCode).toBe(0);
    expect(rm.stderr).not.toContain("switched back");
    expect(await current()).toBe("tsm-b");
    expect((await contexts()).map((c) => c.Name)).toEqual(["default", "tsm-b"]);
  });

  it("never touches a context it did not create", async () => {
    expect((await docker(["context", "create", "tsm-c", "--description", "hand-made", "--docker", "host=tcp://192.0.2.1:2376"])).exitCode).toBe(0);
    const r = await create("c", 2378);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('Warning: the Docker context "tsm-c" is left alone: tsm did not create it. Remove it ("docker context rm tsm-c") for tsm to keep one for "c".');
    expect((await inspect("tsm-c")).Endpoints.docker.Host).toBe("tcp://192.0.2.1:2376");
    const used = await tsm(["use", "c"]);
    expect(used.exitCode).toBe(1);
    expect(used.stderr).toContain('The Docker context "tsm-c" is not tsm\'s, so tsm cannot make it "c"\'s: remove it with "docker context rm tsm-c" and retry');
    expect(await current()).toBe("default");
    expect((await tsm(["rm", "-y", "c"])).exitCode).toBe(0);
    expect((await inspect("tsm-c")).Endpoints.docker.Host).toBe("tcp://192.0.2.1:2376");
  });

  it("a machine of the same name in another store leaves the first store's context alone", async () => {
    expect((await create("a", 2376)).exitCode).toBe(0);
    const otherStore = path.join(dir, "other-store");
    const r = await tsm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2999", "a"], {}, otherStore);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`the Docker context "tsm-a" is left alone: it belongs to the tsm store ${store}.`);
    expect((await inspect("tsm-a")).Endpoints.docker.Host).toBe("tcp://127.0.0.1:2376");
    expect((await tsm(["rm", "-y", "a"], {}, otherStore)).exitCode).toBe(0);
    expect((await inspect("tsm-a")).Endpoints.docker.Host).toBe("tcp://127.0.0.1:2376");
  });

  it("regenerate-certs --client-certs puts the new CA and client certificate into the context", async () => {
    expect((await create("a", 2376)).exitCode).toBe(0);
    const tls = path.join((await inspect("tsm-a")).Storage.TLSPath, "docker");
    const oldCa = readFileSync(path.join(tls, "ca.pem"), "utf8");
    const r = await tsm(["regenerate-certs", "-f", "--client-certs", "a"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const newCa = readFileSync(path.join(tls, "ca.pem"), "utf8");
    expect(newCa).not.toBe(oldCa);
    expect(newCa).toBe(machineFile("a", "ca.pem"));
    expect(readFileSync(path.join(tls, "cert.pem"), "utf8")).toBe(machineFile("a", "cert.pem"));
    expect(readFileSync(path.join(tls, "key.pem"), "utf8")).toBe(machineFile("a", "key.pem"));
  });

  it("a broken config.json is a warning for rm and an error for use, and is left as it was", async () => {
    expect((await create("a", 2376, "--activate")).exitCode).toBe(0);
    writeFileSync(path.join(dockerConfig, "config.json"), "{ broken");
    const used = await tsm(["use", "a"]);
    expect(used.exitCode).toBe(1);
    expect(used.stderr).toContain(`${path.join(dockerConfig, "config.json")} is not a JSON object, so tsm leaves it alone: fix it, then retry`);
    const rm = await tsm(["rm", "-y", "a"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(rm.stderr).toContain('Warning: the Docker context "tsm-a" was not removed:');
    expect(readFileSync(path.join(dockerConfig, "config.json"), "utf8")).toBe("{ broken");
  });

  it("TSM_NO_CONTEXTS=1 leaves the docker CLI's files alone, and use refuses", async () => {
    const r = await create("a", 2376, "--activate");
    expect(r.exitCode).toBe(0); // without TSM_NO_CONTEXTS
    const off = { TSM_NO_CONTEXTS: "1" };
    expect((await tsm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2377", "b"], off)).exitCode).toBe(0);
    expect((await contexts()).map((c) => c.Name)).toEqual(["default", "tsm-a"]);
    const used = await tsm(["use", "b"], off);
    expect(used.exitCode).toBe(2);
    expect(used.stderr).toContain("Docker contexts are turned off (TSM_NO_CONTEXTS=1)");
    const activate = await tsm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2378", "--activate", "c"], off);
    expect(activate.exitCode).toBe(2);
    expect(existsSync(path.join(store, "machines", "c"))).toBe(false);
    // rm with contexts off does not touch them either (the user asked tsm to keep out).
    expect((await tsm(["rm", "-y", "a"], off)).exitCode).toBe(0);
    expect(await current()).toBe("tsm-a");
  });

  it("the docker CLI keeps tsm's mark when it updates the context, so tsm still owns it", async () => {
    expect((await create("a", 2376)).exitCode).toBe(0);
    expect((await docker(["context", "update", "tsm-a", "--description", "renamed by hand"])).exitCode).toBe(0);
    const rm = await tsm(["rm", "-y", "a"]);
    expect(rm.exitCode).toBe(0);
    expect((await contexts()).map((c) => c.Name)).toEqual(["default"]);
  });
});

/**
 * Docker Machine compatibility: the built tsm run through a `docker-machine` symlink (as a
 * user puts it on PATH), with Docker Machine's variables and global flags; its exit codes
 * and the messages its scripts and its integration suite grep; a CI-style script written
 * for Docker Machine run unchanged; and tsm's own words kept outside the mode.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runProcess, runTsm, tempDir, TSM_BIN, type RunResult } from "../helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
let bin: string;
let store: string;

/** Runs `node <dir>/docker-machine ARGS` with MACHINE_STORAGE_PATH (no TSM_STORAGE_PATH), as Docker Machine's suites do. */
function dm(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run(process.execPath, [bin, ...args], { MACHINE_STORAGE_PATH: store, ...env });
}

function run(file: string, args: readonly string[], extraEnv: Record<string, string | undefined>): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...baseEnv(), ...extraEnv };
  for (const k of Object.keys(env)) if (k.startsWith("MACHINE_") && !(k in extraEnv)) delete env[k];
  return runProcess(file, args, env, { cwd: dir });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tsm-compat-"));
  await mkdir(path.join(dir, "bin"));
  bin = path.join(dir, "bin", "docker-machine");
  await symlink(TSM_BIN, bin);
  store = path.join(dir, "dm-store");
  const r = await dm(["create", "--url", "tcp://127.0.0.1:2376", "m"], { MACHINE_DRIVER: "none" });
  expect(r.stderr).toContain("Creating CA:");
  expect(r.exitCode).toBe(0);
});
afterAll(() => cleanup());

describe("docker-machine symlink: Docker Machine's exit codes and words", () => {
  it("MACHINE_DRIVER=none create --url works and the machine lands in MACHINE_STORAGE_PATH", async () => {
    expect(existsSync(path.join(store, "machines", "m", "config.json"))).toBe(true);
    const r = await dm(["ls", "-q"]);
    expect(r.stdout).toBe("m\n");
  });

  it("a missing machine: exit 1, Docker machine \"x\" does not exist", async () => {
    const r = await dm(["inspect", "nope"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe('Docker machine "nope" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.');
  });

  it("a duplicate create: exit 1, Docker machine \"x\" already exists", async () => {
    const r = await dm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "m"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toBe('Docker machine "m" already exists');
  });

  it("an unknown driver, an unknown command, a bad flag: exit 1 with Docker Machine's lines", async () => {
    const driver = await dm(["create", "-d", "bogus", "x"]);
    expect(driver.exitCode).toBe(1);
    expect(driver.stderr).toContain('Driver "bogus" not found. Do you have the plugin binary "docker-machine-driver-bogus" accessible in your PATH?');
    const cmd = await dm(["bogus"]);
    expect(cmd.exitCode).toBe(1);
    expect(cmd.stderr).toBe("docker-machine: 'bogus' is not a docker-machine command. See 'docker-machine --help'.\n");
    const flag = await dm(["ls", "--bogus"]);
    expect(flag.exitCode).toBe(1);
    expect(flag.stderr).toContain("See 'docker-machine ls --help'");
  });

  it("argument counts: Docker Machine's lines, exit 1 (its its/cli suite greps them)", async () => {
    const none = await dm(["url"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toBe('Error: No machine name(s) specified and no "default" machine exists\n');
    const two = await dm(["inspect", "m", "m"]);
    expect(two.exitCode).toBe(1);
    expect(two.stderr).toBe("Error: Expected one machine name as an argument\n");
  });

  it("help has the h alias; help for an unknown command fails", async () => {
    const h = await dm(["h", "ls"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain("Usage: docker-machine ls");
    const bogus = await dm(["help", "bogus"]);
    expect(bogus.exitCode).toBe(1);
    expect(bogus.stderr).toContain("'bogus'");
  });

  it("usage hints name the program as invoked", async () => {
    const r = await dm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2377", "hint"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("docker-machine env hint");
    expect(r.stderr).not.toMatch(/\btsm env\b/);
  });

  it("legacy standalone-swarm flags: one line pointing to Swarm mode", async () => {
    for (const flags of [["--swarm-discovery", "token://x"], ["--swarm-image", "swarm:latest"], ["--swarm-strategy", "spread"], ["--swarm-host", "tcp://0.0.0.0:3376"], ["--swarm-join-opt", "a=b"], ["--swarm-experimental"]]) {
      const r = await dm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", ...flags, "sw"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${flags[0]} belongs to Docker Machine's legacy standalone Swarm.*Swarm mode`));
    }
    expect(existsSync(path.join(store, "machines", "sw"))).toBe(false);
  });

  it("TSM_COMPAT=docker-machine turns the mode on for tsm itself; outside it tsm keeps its codes and words", async () => {
    const on = await runTsm(store, ["inspect", "nope"], { env: { TSM_COMPAT: "docker-machine" } });
    expect(on.exitCode).toBe(1);
    expect(on.stderr).toMatch(/^Docker machine "nope" does not exist/);
    const off = await runTsm(store, ["inspect", "nope"]);
    expect(off.exitCode).toBe(4);
    expect(off.stderr).toMatch(/^Error: Machine "nope" does not exist\. Use "tsm ls"/);
    const swarm = await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "--swarm-discovery", "token://x", "sw"]);
    expect(swarm.exitCode).toBe(2);
  });

  it("tsm itself: help has the h alias too, and help for an unknown command is a usage error (exit 2)", async () => {
    const h = await runTsm(store, ["h", "ls"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain("Usage: tsm ls");
    const bogus = await runTsm(store, ["help", "bogus"]);
    expect(bogus.exitCode).toBe(2);
    expect(bogus.stderr).toBe("Error: No help for 'bogus': it is not a tsm command. See 'tsm --help'\n");
    const all = await runTsm(store, ["help"]);
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toContain("--native-ssh");
  });

  it("defaults the store to ~/.docker/machine without MACHINE_STORAGE_PATH", async () => {
    const home = path.join(dir, "home");
    await mkdir(home);
    const r = await run(process.execPath, [bin, "create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "h1"], { HOME: home });
    expect(r.exitCode).toBe(0);
    expect(await readdir(path.join(home, ".docker", "machine", "machines"))).toEqual(["h1"]);
  });
});

describe("a CI script written for Docker Machine runs unchanged", () => {
  it("eval $(docker-machine env m), config, url, ip, inspect -f, ls -q --filter", async () => {
    const script = path.join(dir, "ci.sh");
    await writeFile(
      script,
      [
        "set -euo pipefail",
        'eval "$(docker-machine env m)"',
        'echo "host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY name=$DOCKER_MACHINE_NAME certs=$DOCKER_CERT_PATH"',
        'test -f "$DOCKER_CERT_PATH/ca.pem" && test -f "$DOCKER_CERT_PATH/cert.pem" && test -f "$DOCKER_CERT_PATH/key.pem"',
        'echo "config=$(docker-machine config m | tr "\\n" " ")"',
        'echo "url=$(docker-machine url m)"',
        'echo "ip=$(docker-machine ip m)"',
        "echo \"addr=$(docker-machine inspect -f '{{.Driver.IPAddress}}' m)\"",
        'echo "ls=$(docker-machine ls -q --filter name=m)"',
        'if docker-machine inspect missing 2>err.txt; then echo "inspect missing succeeded"; exit 1; fi',
        'grep -q "does not exist" err.txt && echo "missing=ok"',
      ].join("\n"),
    );
    const r = await run("bash", [script], { MACHINE_STORAGE_PATH: store, PATH: `${path.dirname(bin)}:${path.dirname(process.execPath)}:${process.env.PATH}` });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const certs = path.join(store, "machines", "m");
    expect(r.stdout).toContain(`host=tcp://127.0.0.1:2376 verify=1 name=m certs=${certs}\n`);
    expect(r.stdout).toContain(`config=--tlsverify --tlscacert="${certs}/ca.pem" --tlscert="${certs}/cert.pem" --tlskey="${certs}/key.pem" -H=tcp://127.0.0.1:2376 \n`);
    expect(r.stdout).toContain("url=tcp://127.0.0.1:2376\n");
    expect(r.stdout).toMatch(/^ip=127\.0\.0\.1(:2376)?$/m);
    expect(r.stdout).toMatch(/^addr=127\.0\.0\.1(:2376)?$/m);
    // name is an unanchored regexp, as in Docker Machine: "hint" and "h1" do not match "m"... but "m" does.
    expect(r.stdout).toMatch(/^ls=m$/m);
    expect(r.stdout).toContain("missing=ok\n");
  });
});

describe("Docker Machine's variables and global flags", () => {
  it("TSM_STORAGE_PATH keeps precedence over MACHINE_STORAGE_PATH", async () => {
    const other = path.join(dir, "tsm-store");
    const r = await dm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "p"], { TSM_STORAGE_PATH: other });
    expect(r.exitCode).toBe(0);
    expect(existsSync(path.join(other, "machines", "p"))).toBe(true);
    expect(existsSync(path.join(store, "machines", "p"))).toBe(false);
  });

  it("MACHINE_DOCKER_INSTALL_URL and ENGINE_REGISTRY_MIRROR reach the record; TSM_* names win", async () => {
    const env = { MACHINE_DOCKER_INSTALL_URL: "https://get.example.com/i.sh", ENGINE_REGISTRY_MIRROR: "https://mirror.example.com", TSM_ENGINE_REGISTRY_MIRROR: "https://tsm-mirror.example.com" };
    expect((await dm(["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", "v"], env)).exitCode).toBe(0);
    const r = await dm(["inspect", "-f", "{{.HostOptions.EngineOptions.InstallURL}} {{json .HostOptions.EngineOptions.RegistryMirror}}", "v"]);
    expect(r.stdout).toBe('https://get.example.com/i.sh ["https://tsm-mirror.example.com"]\n');
  });

  it("accepts --native-ssh and the token flags; -D / MACHINE_DEBUG says the tokens are ignored", async () => {
    const flags = await dm(["--native-ssh", "--github-api-token", "t1", "--bugsnag-api-token", "no-report", "-D", "ls", "-q"]);
    expect(flags.exitCode).toBe(0);
    expect(flags.stdout).toContain("m\n");
    expect(flags.stderr).toMatch(/--github-api-token is accepted .* and ignored/);
    expect(flags.stderr).toMatch(/--bugsnag-api-token is accepted .* and ignored/);
    const vars = await dm(["ls", "-q"], { MACHINE_DEBUG: "1", MACHINE_NATIVE_SSH: "1", MACHINE_BUGSNAG_API_TOKEN: "no-report" });
    expect(vars.exitCode).toBe(0);
    expect(vars.stderr).toMatch(/--bugsnag-api-token is accepted/);
    const quiet = await dm(["--bugsnag-api-token", "x", "ls", "-q"]);
    expect(quiet.stderr).toBe("");
  });

  it("create --help lists the Docker Machine variable beside tsm's", async () => {
    const r = await dm(["create", "--help"]);
    expect(r.stdout).toMatch(/env: TSM_ENGINE_INSTALL_URL,\s+MACHINE_DOCKER_INSTALL_URL/);
  });
});

/**
 * env as the user evaluates it: exact text per shell, the usage hint,
 * --unset, --no-proxy, and the local certificate checks.
 */
import { execFileSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTsm, tempDir, TSM_BIN } from "../helpers/cli.js";

let store: string;
let cleanup: () => Promise<void>;
let certDir: string;

beforeAll(async () => {
  ({ dir: store, cleanup } = await tempDir());
  certDir = path.join(store, "machines", "dev");
  expect((await runTsm(store, ["create", "-d", "none", "--url", "tcp://127.0.0.7:2376", "dev"])).exitCode).toBe(0);
});
afterAll(() => cleanup());

describe("env", () => {
  it("prints bash syntax and the hint echoing the command line", async () => {
    const r = await runTsm(store, ["env", "dev"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        'export DOCKER_TLS_VERIFY="1"',
        'export DOCKER_HOST="tcp://127.0.0.7:2376"',
        `export DOCKER_CERT_PATH="${certDir}"`,
        'export DOCKER_MACHINE_NAME="dev"',
        "# Run this command to configure your shell: ",
        `# eval "$(${TSM_BIN} env dev)"`,
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
  });

  it.each([
    ["fish", 'set -gx DOCKER_HOST "tcp://127.0.0.7:2376";'],
    ["powershell", '$Env:DOCKER_HOST = "tcp://127.0.0.7:2376"'],
    ["cmd", "SET DOCKER_HOST=tcp://127.0.0.7:2376"],
    ["tcsh", 'setenv DOCKER_HOST "tcp://127.0.0.7:2376";'],
    ["emacs", '(setenv "DOCKER_HOST" "tcp://127.0.0.7:2376")'],
    ["zsh", 'export DOCKER_HOST="tcp://127.0.0.7:2376"'],
  ])("--shell %s", async (shell, line) => {
    const r = await runTsm(store, ["env", "--shell", shell, "dev"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")).toContain(line);
  });

  it("detects fish from $SHELL", async () => {
    const r = await runTsm(store, ["env", "dev"], { env: { SHELL: "/usr/bin/fish" } });
    expect(r.stdout).toContain('set -gx DOCKER_MACHINE_NAME "dev";');
  });

  it("falls back to sh syntax with a note when $SHELL is unknown", async () => {
    const r = await runTsm(store, ["env", "dev"], { env: { SHELL: undefined } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('export DOCKER_MACHINE_NAME="dev"');
    expect(r.stderr).toContain("--shell");
  });

  it("refuses an unknown --shell with exit 2", async () => {
    const r = await runTsm(store, ["env", "--shell", "nushell", "dev"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Error: Unknown shell "nushell"/);
  });

  it("--unset prints unset lines and takes no name", async () => {
    const r = await runTsm(store, ["env", "-u"]);
    expect(r.stdout.split("\n").slice(0, 4)).toEqual(["unset DOCKER_TLS_VERIFY", "unset DOCKER_HOST", "unset DOCKER_CERT_PATH", "unset DOCKER_MACHINE_NAME"]);
    const bad = await runTsm(store, ["env", "-u", "dev"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("Expected no machine name when the -u flag is present");
  });

  it("--no-proxy appends the machine's address once", async () => {
    const a = await runTsm(store, ["env", "--no-proxy", "dev"], { env: { NO_PROXY: "localhost" } });
    expect(a.stdout).toContain('export NO_PROXY="localhost,127.0.0.7"\n');
    const b = await runTsm(store, ["env", "--no-proxy", "dev"], { env: { no_proxy: "127.0.0.7,localhost" } });
    expect(b.stdout).toContain('export no_proxy="127.0.0.7,localhost"\n');
    const c = await runTsm(store, ["env", "--no-proxy", "dev"]);
    expect(c.stdout).toContain('export NO_PROXY="127.0.0.7"\n');
  });

  it("--unset --no-proxy unsets NO_PROXY properly (no Docker Machine 'unset NO_PROXYlocalhost')", async () => {
    const r = await runTsm(store, ["env", "-u", "--no-proxy"], { env: { NO_PROXY: "localhost" } });
    expect(r.stdout.split("\n")).toContain("unset NO_PROXY");
    expect(r.stdout).not.toContain("NO_PROXYlocalhost");
  });

  it("evaluates in bash to the right variables", async () => {
    const r = await runTsm(store, ["env", "dev"]);
    const out = execFileSync("bash", ["-c", `eval "$1"; printf '%s|%s|%s|%s' "$DOCKER_TLS_VERIFY" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME"`, "_", r.stdout]).toString();
    expect(out).toBe(`1|tcp://127.0.0.7:2376|${certDir}|dev`);
  });

  it("reads the store only: a missing certificate is a local, immediate error naming the fix", async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      expect((await runTsm(dir, ["create", "-d", "none", "--url", "tcp://127.0.0.8:2376", "m"])).exitCode).toBe(0);
      await rm(path.join(dir, "machines", "m", "server.pem"));
      const r = await runTsm(dir, ["env", "m"]);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^Error: The certificates of "m" are incomplete \(.*server\.pem: missing\)\. Run "tsm regenerate-certs m"\n$/);
      const c = await runTsm(dir, ["config", "m"]);
      expect(c.exitCode).toBe(1);
    } finally {
      await done();
    }
  });

  it("refuses certificates that do not cover the machine's address", async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      expect((await runTsm(dir, ["create", "-d", "none", "--url", "tcp://127.0.0.8:2376", "m"])).exitCode).toBe(0);
      const recFile = path.join(dir, "machines", "m", "config.json");
      const rec = JSON.parse(await readFile(recFile, "utf8"));
      rec.driver.config.url = "tcp://127.9.9.9:2376";
      await writeFile(recFile, JSON.stringify(rec));
      const r = await runTsm(dir, ["env", "m"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/the server certificate does not cover 127\.9\.9\.9 .*Run "tsm regenerate-certs m"/);
      const fixed = await runTsm(dir, ["regenerate-certs", "-f", "m"]);
      expect(fixed.exitCode).toBe(0);
      expect((await runTsm(dir, ["env", "m"])).exitCode).toBe(0);
    } finally {
      await done();
    }
  });

  it("--check fails clearly when the engine does not answer", async () => {
    const r = await runTsm(store, ["env", "--check", "dev"], {});
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Error: TLS check of tcp:\/\/127\.0\.0\.7:2376 failed: /);
  }, 30_000);
});

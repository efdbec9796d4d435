import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import {
  ensureHostsEntry,
  removeFilesScript,
  replaceHostsScript,
  setHostnameScript,
  writeFilesScript,
} from "../../../src/provision/host-files.js";

const scratch = mkdtempSync(path.join(tmpdir(), "tsm-host-files-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIE $(touch pwned) `id` 'q' \"dq\" \\ %h\n-----END RSA PRIVATE KEY-----\n";

describe("writeFilesScript", () => {
  const shells = [["sh"], ["bash", "--posix"], ["busybox", "sh"]].filter((s) => spawnSync(s[0]!, [...s.slice(1), "-c", "true"]).status === 0);

  for (const shell of shells) {
    it(`${shell.join(" ")}: writes every file exactly, with its mode, atomically and without its content in the command`, () => {
      const root = mkdtempSync(path.join(scratch, "root-"));
      const files = [
        { path: path.join(root, "etc/docker/ca.pem"), mode: 0o644, content: "CA\n" },
        { path: path.join(root, "etc/docker/server-key.pem"), mode: 0o600, content: KEY },
        { path: path.join(root, "etc/systemd/system/docker.service.d/10-tsm.conf"), mode: 0o644, content: "no final newline" },
        { path: path.join(root, "empty"), mode: 0o644, content: "" },
        { path: path.join(root, "bytes"), mode: 0o755, content: Buffer.from([0, 1, 2, 255, 10]) },
      ];
      const { script, input } = writeFilesScript(files);
      expect(script).not.toContain("MIIE");
      expect(script).not.toContain("CA\n");
      const r = spawnSync(shell[0]!, [...shell.slice(1), "-c", script], { input, cwd: root, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      for (const f of files) {
        expect(readFileSync(f.path)).toEqual(Buffer.from(f.content));
        expect(statSync(f.path).mode & 0o777, f.path).toBe(f.mode);
      }
      expect(statSync(path.join(root, "etc/systemd/system/docker.service.d")).mode & 0o777).toBe(0o755);
      expect(readdirSync(path.join(root, "etc/docker")).sort()).toEqual(["ca.pem", "server-key.pem"]);
      expect(readdirSync(root)).not.toContain("pwned");
      // Again, over the existing files: same result (idempotent).
      expect(spawnSync(shell[0]!, [...shell.slice(1), "-c", script], { input, cwd: root }).status).toBe(0);
      expect(readFileSync(files[1]!.path, "utf8")).toBe(KEY);
    });
  }

  it("fails (and leaves no temporary file) when stdin ends early", () => {
    const root = mkdtempSync(path.join(scratch, "short-"));
    const { script } = writeFilesScript([{ path: path.join(root, "a"), mode: 0o644, content: "x" }]);
    const r = spawnSync("sh", ["-c", script], { input: "", cwd: root });
    expect(r.status).not.toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses relative paths", () => {
    expect(() => writeFilesScript([{ path: "etc/x", mode: 0o644, content: "" }])).toThrow(/absolute/);
  });
});

describe("host name", () => {
  it("quotes the name and falls back from hostnamectl to hostname + /etc/hostname (in place)", () => {
    expect(setHostnameScript("web-1.example", true)).toBe(
      [
        "n='web-1.example'",
        `if command -v hostnamectl >/dev/null 2>&1 && hostnamectl set-hostname "$n" 2>/dev/null; then :; else hostname "$n" && printf '%s\\n' "$n" > /etc/hostname; fi`,
      ].join("\n"),
    );
    expect(setHostnameScript("a", false)).toBe(`n='a'\nhostname "$n" && printf '%s\\n' "$n" > /etc/hostname`);
    for (const s of [setHostnameScript("x", true), setHostnameScript("x", false), replaceHostsScript(), removeFilesScript(["/a b", "/c"], ["/d"])]) {
      expect(spawnSync("sh", ["-n"], { input: s }).status).toBe(0);
    }
  });

  it("ensureHostsEntry: Debian's file gets its 127.0.1.1 line replaced", () => {
    const debian = "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n# IPv6\n::1     localhost ip6-localhost ip6-loopback\n";
    const out = ensureHostsEntry(debian, "web1");
    expect(out).toBe("127.0.0.1\tlocalhost\n127.0.1.1\tweb1\n\n# IPv6\n::1     localhost ip6-localhost ip6-loopback\n");
    expect(ensureHostsEntry(out, "web1")).toBe(out);
  });

  it("ensureHostsEntry: a container's file (no 127.0.1.1 line) gets one appended; a listed name is left alone", () => {
    const docker = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.17.0.2\t3f4e5d6c7b8a";
    expect(ensureHostsEntry(docker, "web1")).toBe(`${docker}\n127.0.1.1\tweb1\n`);
    expect(ensureHostsEntry("10.0.0.5 web1.example web1\n", "web1")).toBe("10.0.0.5 web1.example web1\n");
    expect(ensureHostsEntry("# 10.0.0.5 web1\n", "web1")).toBe("# 10.0.0.5 web1\n127.0.1.1\tweb1\n");
    expect(ensureHostsEntry("", "web1")).toBe("127.0.1.1\tweb1\n");
  });

  it("replaceHostsScript rewrites the file in place from stdin", () => {
    const dir = mkdtempSync(path.join(scratch, "hosts-"));
    const script = replaceHostsScript().replace(/\/etc\/hosts/g, path.join(dir, "hosts"));
    const r = spawnSync("sh", ["-c", script], { input: "127.0.1.1\tx\n" });
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(dir, "hosts"), "utf8")).toBe("127.0.1.1\tx\n");
  });
});

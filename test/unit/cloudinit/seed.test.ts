import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { TsmError } from "../../../src/model/errors.js";
import { InvalidSeedError, buildNoCloudSeed, toYaml, yamlQuote, type NoCloudSeedOptions } from "../../../src/cloudinit/seed.js";
import { describeWithPrereqs } from "../../helpers/prereq.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkOdE4Z3Rt0k0R0b2tlbi1mb3ItdGVzdHMtb25seQ tsm@test";
const base: NoCloudSeedOptions = { instanceId: "iid-tsm-0001", hostname: "default", authorizedKeys: [KEY] };

/** Parses YAML with PyYAML, the parser cloud-init itself uses, and returns the result as JSON. */
// Debian's python3 first (python3-yaml is installed for it by .ci/run), then whatever python3 is on PATH.
const python = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "import yaml"]).status === 0);

function pyyaml(text: string): unknown {
  const r = spawnSync(python!, ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const havePyYaml = python !== undefined;

describe("buildNoCloudSeed", () => {
  it("renders the exact cloud-config and meta-data", () => {
    const seed = buildNoCloudSeed({ ...base, authorizedKeys: [KEY, "ecdsa-sha2-nistp256 AAAAE2VjZHNh second"] });
    expect(seed.userData).toBe(
      [
        "#cloud-config",
        'hostname: "default"',
        'fqdn: "default"',
        "prefer_fqdn_over_hostname: false",
        "preserve_hostname: false",
        "manage_etc_hosts: true",
        "ssh_pwauth: false",
        "disable_root: true",
        "ssh_deletekeys: true",
        "ssh_genkeytypes:",
        '  - "ed25519"',
        '  - "ecdsa"',
        '  - "rsa"',
        "users:",
        '  - name: "docker"',
        '    shell: "/bin/bash"',
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
        "    lock_passwd: true",
        "    no_user_group: true",
        "    ssh_authorized_keys:",
        `      - "${KEY}"`,
        '      - "ecdsa-sha2-nistp256 AAAAE2VjZHNh second"',
        "",
      ].join("\n"),
    );
    expect(seed.metaData).toBe('instance-id: "iid-tsm-0001"\nlocal-hostname: "default"\n');
    expect(seed.networkConfig).toBeUndefined();
  });

  it("takes a user, fqdn, groups and a network-config", () => {
    const seed = buildNoCloudSeed({
      ...base,
      user: "core",
      fqdn: "default.example.test",
      groups: ["docker", "adm"],
      networkConfig: { version: 2, ethernets: { second: { match: { macaddress: "52:54:00:00:00:02" }, addresses: ["10.77.0.2/24"], dhcp4: false } } },
    });
    expect(seed.userData).toContain('fqdn: "default.example.test"\n');
    expect(seed.userData).toContain('  - name: "core"\n');
    expect(seed.userData).toContain('    groups:\n      - "docker"\n      - "adm"\n');
    expect(seed.networkConfig).toBe(
      [
        "version: 2",
        "ethernets:",
        "  second:",
        "    match:",
        '      macaddress: "52:54:00:00:00:02"',
        "    addresses:",
        '      - "10.77.0.2/24"',
        "    dhcp4: false",
        "",
      ].join("\n"),
    );
  });

  it.each([
    ["hostname", { hostname: 'x"\nruncmd: [reboot]' }],
    ["hostname", { hostname: "-leading-dash" }],
    ["hostname", { hostname: "has space" }],
    ["hostname", { hostname: "a..b" }],
    ["hostname", { hostname: "a".repeat(65) }],
    ["hostname", { hostname: "" }],
    ["fqdn", { fqdn: "x.\nusers: []" }],
    ["instance id", { instanceId: "../../etc" }],
    ["instance id", { instanceId: "iid\n" }],
    ["instance id", { instanceId: "" }],
    ["user name", { user: "root" }],
    ["user name", { user: "Docker" }],
    ["user name", { user: "a:b" }],
    ["authorized keys", { authorizedKeys: [] }],
    ["authorized key", { authorizedKeys: [`${KEY}\nssh-ed25519 AAAA attacker`] }],
    ["authorized key", { authorizedKeys: [`${KEY}\rx`] }],
    ["authorized key", { authorizedKeys: [`${KEY}\u2028x`] }],
    ["authorized key", { authorizedKeys: ["   "] }],
    ["group name", { groups: ["docker\nsudo"] }],
  ] as Array<[string, Partial<NoCloudSeedOptions>]>)("refuses a bad %s: %j", (what, patch) => {
    let err: unknown;
    try {
      buildNoCloudSeed({ ...base, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidSeedError);
    expect(err).toBeInstanceOf(TsmError);
    expect((err as InvalidSeedError).code).toBe("INVALID_SEED");
    expect((err as Error).message).toContain(`Invalid ${what} `);
  });
});

describe("toYaml / yamlQuote", () => {
  it("quotes every string and escapes everything outside printable ASCII", () => {
    expect(yamlQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(yamlQuote("tab\there\nnl\u0000\u007f")).toBe('"tab\\x09here\\x0anl\\x00\\x7f"');
    expect(yamlQuote("é\u2028😀")).toBe('"\\xe9\\u2028\\U0001f600"');
    expect(yamlQuote("yes")).toBe('"yes"');
    expect(() => yamlQuote("\ud800")).toThrow(/surrogate/);
  });

  it("lays out nested collections", () => {
    expect(toYaml({ a: [], b: {}, c: null, d: [[1, 2], { e: "f", g: [true] }], h: undefined, "on": 1, "x y": 2 })).toBe(
      [
        "a: []",
        "b: {}",
        "c: null",
        "d:",
        "  -",
        "    - 1",
        "    - 2",
        '  - e: "f"',
        "    g:",
        "      - true",
        '"on": 1',
        '"x y": 2',
        "",
      ].join("\n"),
    );
    expect(() => toYaml({ n: Number.NaN })).toThrow();
  });
});

describeWithPrereqs("seed documents as cloud-init's YAML parser (PyYAML) reads them", havePyYaml ? [] : ["python3 with PyYAML (apt-get install python3-yaml)"], () => {
  it("reads back exactly what was meant", () => {
    const seed = buildNoCloudSeed({ ...base, groups: ["docker"] });
    expect(pyyaml(seed.userData)).toEqual({
      hostname: "default",
      fqdn: "default",
      prefer_fqdn_over_hostname: false,
      preserve_hostname: false,
      manage_etc_hosts: true,
      ssh_pwauth: false,
      disable_root: true,
      ssh_deletekeys: true,
      ssh_genkeytypes: ["ed25519", "ecdsa", "rsa"],
      users: [{ name: "docker", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", lock_passwd: true, no_user_group: true, groups: ["docker"], ssh_authorized_keys: [KEY] }],
    });
    expect(pyyaml(seed.metaData)).toEqual({ "instance-id": "iid-tsm-0001", "local-hostname": "default" });
  });

  it("installs a given host key exactly and generates none", async () => {
    const { generateSshKeyPair } = await import("../../../src/ssh/keygen.js");
    const hk = await generateSshKeyPair("host");
    const seed = buildNoCloudSeed({ ...base, hostKey: { type: "ed25519", privateKey: hk.privateKey, publicKey: hk.publicKey } });
    const doc = pyyaml(seed.userData) as Record<string, unknown>;
    expect(doc.ssh_keys).toEqual({ ed25519_private: hk.privateKey, ed25519_public: `${hk.publicKey}\n` });
    expect(doc.ssh_genkeytypes).toEqual([]);
    expect(doc.ssh_deletekeys).toBe(true);
  });

  it("keeps hostile values as single strings, never as keys", () => {
    const hostile = [
      'x"\nruncmd: [["sh", "-c", "touch /pwned"]]\n#',
      "x'\n- injected",
      "#comment",
      "&anchor *alias !!python/object:os.system",
      "key: value",
      "yes",
      "0x1F",
      "~",
      "null",
      "- item",
      "{ a: 1 }",
      "[1, 2]",
      "multi\nline\r\nwith\ttabs\u0085\u2028\u2029 and \u0000 nul",
      "back\\slash \\n not a newline",
      "unicode é ü 日本 😀",
      "   leading and trailing spaces   ",
      "",
    ];
    // Key lines get their own rule (one line each); as a key comment, quotes, colons, '#' and '&' survive.
    const key = `${KEY} comment: "quoted" #not-a-comment &a *b`;
    const seed = buildNoCloudSeed({ ...base, authorizedKeys: [key], networkConfig: { version: 2, hostile, nested: { [hostile[0]!]: hostile } } });
    const ud = pyyaml(seed.userData) as { users: Array<{ ssh_authorized_keys: string[] }> };
    expect(Object.keys(ud as object)).not.toContain("runcmd");
    expect(ud.users[0]!.ssh_authorized_keys).toEqual([key]);
    expect(pyyaml(seed.networkConfig!)).toEqual({ version: 2, hostile, nested: { [hostile[0]!]: hostile } });
    // Pure ASCII, and no line begins with anything but indentation and a key or "- ".
    expect(seed.networkConfig!).toMatch(/^[\x20-\x7e\n]*$/);
  });
});

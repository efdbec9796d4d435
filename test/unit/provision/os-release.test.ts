import { describe, expect, it } from "vitest";

import { UnsupportedOsError } from "../../../src/provision/errors.js";
import { detectFamily, parseOsRelease } from "../../../src/provision/os-release.js";
import { readFixture } from "./systemd-oracle.js";

describe("parseOsRelease", () => {
  it("reads Debian 12's file", () => {
    expect(parseOsRelease(readFixture("debian-12.os-release"))).toEqual({
      PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)",
      NAME: "Debian GNU/Linux",
      VERSION_ID: "12",
      VERSION: "12 (bookworm)",
      VERSION_CODENAME: "bookworm",
      ID: "debian",
      HOME_URL: "https://www.debian.org/",
      SUPPORT_URL: "https://www.debian.org/support",
      BUG_REPORT_URL: "https://bugs.debian.org/",
    });
  });

  it("handles double and single quotes, escapes, comments, blank lines and CRLF", () => {
    const text = [
      "# a comment",
      "",
      '  NAME="My \\"Quoted\\" \\$OS \\\\ \\`x\\`"  ',
      "ID='my-os'",
      "ID_LIKE=\"ubuntu debian\"",
      "VERSION_ID=1.2\r",
      'EMPTY=""',
      "PLAIN=a\\ b",
      'MIXED="a"b\'c\'',
      "not an assignment",
      "1BAD=x",
      'UNTERMINATED="oops',
      "",
    ].join("\n");
    expect(parseOsRelease(text)).toEqual({
      NAME: 'My "Quoted" $OS \\ `x`',
      ID: "my-os",
      ID_LIKE: "ubuntu debian",
      VERSION_ID: "1.2",
      EMPTY: "",
      PLAIN: "a b",
      MIXED: "abc",
    });
  });

  it("keeps a backslash that escapes nothing special inside double quotes (shell rule)", () => {
    expect(parseOsRelease('X="a\\nb"').X).toBe("a\\nb");
  });

  it("later assignments win", () => {
    expect(parseOsRelease("ID=a\nID=b\n").ID).toBe("b");
  });
});

describe("detectFamily on real os-release files", () => {
  const cases: Array<[string, object]> = [
    ["debian-12.os-release", { family: "debian", id: "debian", versionId: "12", packageManager: "apt", init: "systemd", prettyName: "Debian GNU/Linux 12 (bookworm)" }],
    ["ubuntu-24.04.os-release", { family: "debian", id: "ubuntu", versionId: "24.04", packageManager: "apt", prettyName: "Ubuntu 24.04.1 LTS" }],
    ["fedora-41.os-release", { family: "rhel", id: "fedora", versionId: "41", packageManager: "dnf", prettyName: "Fedora Linux 41 (Server Edition)" }],
    ["rocky-9.os-release", { family: "rhel", id: "rocky", versionId: "9.5", packageManager: "dnf", prettyName: "Rocky Linux 9.5 (Blue Onyx)" }],
    ["almalinux-9.os-release", { family: "rhel", id: "almalinux", versionId: "9.5", packageManager: "dnf" }],
    ["centos-stream-9.os-release", { family: "rhel", id: "centos", versionId: "9", packageManager: "dnf", prettyName: "CentOS Stream 9" }],
    ["alpine-3.20.os-release", { family: "alpine", id: "alpine", versionId: "3.20.3", packageManager: "apk", init: "openrc", prettyName: "Alpine Linux v3.20" }],
  ];
  for (const [file, expected] of cases) {
    it(file, () => {
      expect(detectFamily(parseOsRelease(readFixture(file)))).toMatchObject(expected);
    });
  }

  it("refuses Arch Linux, naming it and the supported families", () => {
    const run = (): unknown => detectFamily(parseOsRelease(readFixture("arch.os-release")));
    expect(run).toThrow(UnsupportedOsError);
    expect(run).toThrow(
      "Arch Linux is not supported: tsm provisions Debian/Ubuntu (apt), RHEL/CentOS/Fedora/Rocky/AlmaLinux (dnf/yum), Alpine (apk, OpenRC) hosts",
    );
    try {
      run();
    } catch (err) {
      expect((err as UnsupportedOsError).code).toBe("UNSUPPORTED_OS");
      expect((err as UnsupportedOsError).exitCode).toBe(1);
    }
  });
});

describe("detectFamily rules", () => {
  it("follows ID_LIKE for derivatives (Linux Mint, Raspbian, Oracle Linux, a Fedora remix)", () => {
    expect(detectFamily({ ID: "linuxmint", ID_LIKE: "ubuntu debian", PRETTY_NAME: "Linux Mint 22" }).family).toBe("debian");
    expect(detectFamily({ ID: "raspbian", ID_LIKE: "debian" }).family).toBe("debian");
    expect(detectFamily({ ID: "ol", ID_LIKE: "fedora", VERSION_ID: "9.4" })).toMatchObject({ family: "rhel", packageManager: "dnf" });
    expect(detectFamily({ ID: "nobara", ID_LIKE: "fedora", VERSION_ID: "40" }).family).toBe("rhel");
    expect(detectFamily({ ID: "postmarketos", ID_LIKE: "alpine" }).family).toBe("alpine");
  });

  it("uses yum where dnf does not exist yet (EL7, Amazon Linux 2)", () => {
    expect(detectFamily({ ID: "centos", ID_LIKE: "rhel fedora", VERSION_ID: "7" }).packageManager).toBe("yum");
    expect(detectFamily({ ID: "rhel", VERSION_ID: "7.9" }).packageManager).toBe("yum");
    expect(detectFamily({ ID: "amzn", ID_LIKE: "centos rhel fedora", VERSION_ID: "2" }).packageManager).toBe("yum");
    expect(detectFamily({ ID: "amzn", ID_LIKE: "fedora", VERSION_ID: "2023" }).packageManager).toBe("dnf");
    expect(detectFamily({ ID: "rhel", VERSION_ID: "9.4" }).packageManager).toBe("dnf");
  });

  it("names an OS without PRETTY_NAME by NAME and VERSION_ID, and one without a file at all", () => {
    expect(() => detectFamily({ NAME: "Gentoo", VERSION_ID: "2.15", ID: "gentoo" })).toThrow("Gentoo 2.15 is not supported");
    expect(() => detectFamily({})).toThrow("an unidentified OS (no /etc/os-release) is not supported");
  });
});

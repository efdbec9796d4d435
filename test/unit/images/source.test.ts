import path from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/model/errors.js";
import { defaultCloudImageUrl, isLoopbackHost, parseImageSource, resolveChecksumUrl } from "../../../src/images/source.js";

describe("image sources", () => {
  it("accepts https anywhere and takes the file name from the path", () => {
    const s = parseImageSource("https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2?x=1");
    expect(s.kind).toBe("remote");
    expect(s.name).toBe("debian-13-genericcloud-amd64.qcow2");
  });

  it("decodes the file name", () => {
    expect(parseImageSource("https://h/a/my%20disk.raw").name).toBe("my disk.raw");
  });

  it.each(["http://127.0.0.1:8080/x.img", "http://127.9.8.7/x.img", "http://localhost/x.img", "http://LOCALHOST./x.img", "http://[::1]:80/x.img", "http://[::ffff:127.0.0.1]/x.img"])(
    "accepts http on loopback: %s",
    (url) => {
      expect(parseImageSource(url).kind).toBe("remote");
    },
  );

  it.each(["http://10.0.0.1/x.img", "http://128.0.0.1/x.img", "http://example.com/x.img", "http://localhost.example.com/x.img", "http://[::2]/x.img", "http://[::ffff:10.0.0.1]/x.img"])(
    "refuses http elsewhere: %s",
    (url) => {
      expect(() => parseImageSource(url)).toThrow(UsageError);
      expect(() => parseImageSource(url)).toThrow(/use an https:\/\/ URL or a local file/);
    },
  );

  it("refuses other schemes and URLs without a file name", () => {
    expect(() => parseImageSource("ftp://h/x.img")).toThrow(UsageError);
    expect(() => parseImageSource("https://h/dir/")).toThrow(/file name/);
    expect(() => parseImageSource("")).toThrow(UsageError);
  });

  it("treats paths and file URLs as local files", () => {
    expect(parseImageSource("/srv/img/a.qcow2")).toEqual({ kind: "local", path: "/srv/img/a.qcow2", name: "a.qcow2" });
    expect(parseImageSource("file:///srv/img/a%20b.qcow2")).toEqual({ kind: "local", path: "/srv/img/a b.qcow2", name: "a b.qcow2" });
    expect(parseImageSource("img/a.raw", "/home/u")).toEqual({ kind: "local", path: path.resolve("/home/u", "img/a.raw"), name: "a.raw" });
  });

  it("puts SHA512SUMS beside the image unless told otherwise", () => {
    const img = new URL("https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2");
    expect(resolveChecksumUrl(img, undefined).href).toBe("https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS");
    expect(resolveChecksumUrl(img, "https://mirror/CHECKSUM").href).toBe("https://mirror/CHECKSUM");
    expect(() => resolveChecksumUrl(img, "http://mirror/CHECKSUM")).toThrow(UsageError);
  });

  it("loopback detection", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("[::1]")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
  });
});

describe("defaultCloudImageUrl", () => {
  it("names Debian 13 images for amd64 and arm64", () => {
    expect(defaultCloudImageUrl("x64", "genericcloud", "qcow2")).toBe(
      "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2",
    );
    expect(defaultCloudImageUrl("arm64", "generic", "raw")).toBe("https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-arm64.raw");
  });

  it("refuses other architectures with a usage error", () => {
    expect(() => defaultCloudImageUrl("riscv64", "genericcloud", "qcow2")).toThrow(UsageError);
    expect(() => defaultCloudImageUrl("ia32", "genericcloud", "qcow2")).toThrow(/ia32/);
  });
});

import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/model/errors.js";
import {
  assertPrintable,
  checkEngineEnv,
  checkEngineLabel,
  checkEngineOpt,
  checkRegistry,
  checkStorageDriver,
  checkTlsSan,
  checkUrl,
  labelKey,
  parseEngineEnv,
  parseEngineOpt,
  splitAssignment,
} from "../../../src/provision/engine-rules.js";
import { InvalidEngineOptionError } from "../../../src/provision/errors.js";

describe("engine option checks keep values exactly and refuse the meaningless", () => {
  it.each(["log-driver=journald", "debug", "log-opt=max-size=10m", `default-ulimit=nofile=1024:2048`, `label=a b "c" $(d)`])("accepts --engine-opt %j", (v) => {
    expect(checkEngineOpt(v)).toBe(v);
  });
  it.each(["", "=x", "bad name=x", "-x=1", "a=b\nc"])("refuses --engine-opt %j", (v) => {
    expect(() => checkEngineOpt(v)).toThrow(UsageError);
  });
  it.each(["k=v", "k=", "a.b/c=$(x) y"])("accepts --engine-label %j", (v) => expect(checkEngineLabel(v)).toBe(v));
  it.each(["k", "=v", "k=\u0001"])("refuses --engine-label %j", (v) => expect(() => checkEngineLabel(v)).toThrow(/--engine-label/));
  it.each(["HTTP_PROXY=http://p:3128", "X=", "A_1=it's \"quoted\" $HOME"])("accepts --engine-env %j", (v) => expect(checkEngineEnv(v)).toBe(v));
  it.each(["1A=x", "A-B=x", "A", "A=x\ny"])("refuses --engine-env %j", (v) => expect(() => checkEngineEnv(v)).toThrow(/--engine-env/));
  it.each(["10.0.0.1", "::1", "docker.example.com", "*.example.com", "localhost"])("accepts --tls-san %j", (v) => expect(checkTlsSan(v)).toBe(v));
  it.each(["a b", "-bad.example", "x..y", "exa_mple.com", ""])("refuses --tls-san %j", (v) => expect(() => checkTlsSan(v)).toThrow(/--tls-san/));
  it("checks registries, storage drivers and URLs", () => {
    expect(checkRegistry("engine-insecure-registry", "reg:5000")).toBe("reg:5000");
    expect(() => checkRegistry("engine-insecure-registry", "a b")).toThrow(/--engine-insecure-registry "a b"/);
    expect(checkStorageDriver("overlay2")).toBe("overlay2");
    expect(checkStorageDriver("")).toBe("");
    expect(() => checkStorageDriver("Overlay 2")).toThrow(/--engine-storage-driver/);
    expect(checkUrl("engine-install-url", "https://get.docker.com")).toBe("https://get.docker.com");
    expect(() => checkUrl("engine-install-url", "get.docker.com")).toThrow(/expected an http\(s\) URL/);
  });
});

describe("the same rules, applied by the engine plan to a stored record", () => {
  it("splits NAME=VALUE at the first = and takes a label's key the same way", () => {
    expect(splitAssignment("log-opt=tag=a=b")).toEqual({ name: "log-opt", value: "tag=a=b" });
    expect(splitAssignment("debug")).toEqual({ name: "debug" });
    expect(labelKey("k=v=w")).toBe("k");
    expect(labelKey("novalue")).toBe("novalue");
  });
  it("refuses with the plan's own messages (InvalidEngineOptionError, exit 2)", () => {
    expect(parseEngineOpt("log-opt=max-size=10m")).toEqual({ name: "log-opt", value: "max-size=10m" });
    expect(() => parseEngineOpt("-x=1")).toThrow(InvalidEngineOptionError);
    expect(() => parseEngineOpt("-x=1")).toThrow('Invalid --engine-opt "-x=1": expected NAME=VALUE with a dockerd flag name');
    expect(() => parseEngineOpt("tls")).toThrow('--engine-opt "tls" is not allowed: TLS is set up by tsm');
    expect(() => parseEngineOpt("a=b\nc")).toThrow(/^The engine option "a=b\\nc" contains a control character/);
    expect(parseEngineEnv("X=a=b")).toEqual({ name: "X", value: "a=b" });
    expect(() => parseEngineEnv("=a")).toThrow('Invalid --engine-env "=a": expected NAME=VALUE');
    expect(() => parseEngineEnv("1X=a")).toThrow('Invalid environment variable name "1X": use letters, digits and _');
    expect(() => parseEngineEnv("X=a\tb")).toThrow(/^The value of X "a\\tb" contains a control character/);
    expect(() => assertPrintable("The registry", "a\nb")).toThrow(InvalidEngineOptionError);
  });
  it("agree with create on what a flag name is", () => {
    const accepts = (check: (v: string) => unknown, v: string): boolean => {
      try {
        check(v);
        return true;
      } catch {
        return false;
      }
    };
    for (const v of ["log-driver=journald", "debug", "-x=1", "bad name=x", "=x"]) {
      expect(accepts(parseEngineOpt, v), v).toBe(accepts(checkEngineOpt, v));
    }
  });
});

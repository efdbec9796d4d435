import { describe, expect, it } from "vitest";
import { checkEngineEnv, checkEngineLabel, checkEngineOpt, checkRegistry, checkStorageDriver, checkTlsSan, checkUrl } from "../../../src/core/engine-options.js";
import { UsageError } from "../../../src/model/errors.js";

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

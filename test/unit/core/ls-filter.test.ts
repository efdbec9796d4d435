import { describe, expect, it } from "vitest";
import { matchesState, matchesStatic, parseFilters } from "../../../src/core/ls-filter.js";
import type { MachineRecord } from "../../../src/model/machine.js";

const rec = (over: Partial<MachineRecord> & { labels?: string[] } = {}): MachineRecord => ({
  configVersion: 1,
  name: "web1",
  createdAt: "",
  driver: { name: "generic", config: {} },
  engine: { port: 2376, installMethod: "script", installUrl: "", binaryUrl: "", opts: [], env: [], labels: over.labels ?? [], insecureRegistries: [], registryMirrors: [], storageDriver: "" },
  tls: { sans: [] },
  ...over,
});

describe("parseFilters", () => {
  it("is case-insensitive on keys, keeps '=' inside values and collects repeats", () => {
    const f = parseFilters(["DRIVER=generic", "label=a=b=c", "driver=none", "State=Running"]);
    expect(f.driver).toEqual(["generic", "none"]);
    expect(f.label).toEqual(["a=b=c"]);
    expect(f.state).toEqual(["Running"]);
  });

  it.each([
    ["novalue", /Unsupported filter syntax "novalue"/],
    ["=x", /Unsupported filter syntax "=x"/],
    ["colour=red", /Unsupported filter key "colour"/],
    ["name=[", /not a regular expression/],
  ])("refuses %j", (raw, message) => {
    expect(() => parseFilters([raw])).toThrow(message);
  });
});

describe("matching", () => {
  it("ORs one key and ANDs different keys", () => {
    const f = parseFilters(["driver=none", "driver=GENERIC", "name=^web"]);
    expect(matchesStatic(f, "web1", rec())).toBe(true);
    expect(matchesStatic(f, "db1", rec({ name: "db1" }))).toBe(false);
    expect(matchesStatic(parseFilters(["driver=none"]), "web1", rec())).toBe(false);
  });

  it("matches names as an unanchored, case-sensitive regular expression", () => {
    expect(matchesStatic(parseFilters(["name=eb"]), "web1", rec())).toBe(true);
    expect(matchesStatic(parseFilters(["name=WEB"]), "web1", rec())).toBe(false);
  });

  it("matches labels by key=value (value case-insensitive) or by key alone", () => {
    const r = rec({ labels: ["env=Prod", "team=blue", "flag"] });
    expect(matchesStatic(parseFilters(["label=env=prod"]), "web1", r)).toBe(true);
    expect(matchesStatic(parseFilters(["label=env=dev"]), "web1", r)).toBe(false);
    expect(matchesStatic(parseFilters(["label=team"]), "web1", r)).toBe(true);
    expect(matchesStatic(parseFilters(["label=flag"]), "web1", r)).toBe(true);
    expect(matchesStatic(parseFilters(["label=ENV=prod"]), "web1", r)).toBe(false);
  });

  it("matches swarm by master name", () => {
    const r = rec({ swarm: { role: "worker", master: "Lead", opts: [] } });
    expect(matchesStatic(parseFilters(["swarm=lead"]), "web1", r)).toBe(true);
    expect(matchesStatic(parseFilters(["swarm=other"]), "web1", r)).toBe(false);
    expect(matchesStatic(parseFilters(["swarm=lead"]), "web1", rec())).toBe(false);
  });

  it("lets an unreadable record match only name and state filters", () => {
    expect(matchesStatic(parseFilters(["name=web"]), "web1", undefined)).toBe(true);
    expect(matchesStatic(parseFilters(["driver=none"]), "web1", undefined)).toBe(false);
    expect(matchesState(parseFilters(["state=error"]), "Error")).toBe(true);
    expect(matchesState(parseFilters(["state=running", "state=stopped"]), "Stopped")).toBe(true);
    expect(matchesState(parseFilters([]), "Timeout")).toBe(true);
  });
});

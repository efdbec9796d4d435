import { describe, expect, it } from "vitest";
import { swarmOptFields, swarmRequest } from "../../../src/core/swarm.js";

describe("swarm flags", () => {
  it("maps the flag combinations to a request", () => {
    expect(swarmRequest({})).toBeUndefined();
    expect(swarmRequest({ swarmMaster: true })).toEqual({ role: "master", advertiseAddr: undefined, opts: [] });
    expect(swarmRequest({ swarm: true, swarmJoin: "lead" })).toEqual({ role: "worker", join: "lead", advertiseAddr: undefined, opts: [] });
    expect(swarmRequest({ swarmJoin: "lead", swarmManager: true, swarmAddr: "10.0.0.9" })).toEqual({ role: "manager", join: "lead", advertiseAddr: "10.0.0.9", opts: [] });
    expect(swarmRequest({ swarmMaster: true, swarmAddr: "eth1" })?.advertiseAddr).toBe("eth1");
    expect(swarmRequest({ swarmMaster: true, swarmAddr: "fd00::5" })?.advertiseAddr).toBe("fd00::5");
  });

  it.each([
    [{ swarm: true }, /--swarm needs --swarm-join MASTER/],
    [{ swarmManager: true }, /--swarm needs --swarm-join MASTER/],
    [{ swarmMaster: true, swarmJoin: "x" }, /cannot be combined/],
    [{ swarmAddr: "1.2.3.4" }, /--swarm-addr needs --swarm-master or --swarm-join/],
    [{ swarmOpt: ["availability=drain"] }, /--swarm-opt needs --swarm-master or --swarm-join/],
    [{ swarmJoin: "x", swarmOpt: ["data-path-port=4789"] }, /--swarm-opt data-path-port applies only to --swarm-master/],
    [{ swarmMaster: true, swarmOpt: ["bogus=1"] }, /Unknown --swarm-opt "bogus"/],
    [{ swarmMaster: true, swarmOpt: ["availability=sleep"] }, /use active, pause or drain/],
    [{ swarmMaster: true, swarmOpt: ["data-path-port=x"] }, /expected a whole number/],
    [{ swarmMaster: true, swarmOpt: ["listen-addr"] }, /needs a value/],
    // Issue 11, defect 4: the advertise address is a host like any other.
    [{ swarmMaster: true, swarmAddr: "10.0.0.1 --foo" }, /^Invalid --swarm-addr "10\.0\.0\.1 --foo": expected an IP address, a DNS name or a network interface name$/],
    [{ swarmJoin: "lead", swarmAddr: "a\nb" }, /^Invalid --swarm-addr "a\\nb"/],
    [{ swarmJoin: "lead", swarmAddr: "300.1.1.1" }, /^Invalid --swarm-addr/],
  ])("refuses %j", (flags, message) => {
    expect(() => swarmRequest(flags)).toThrow(message);
  });

  it("turns --swarm-opt into Engine API fields", () => {
    expect(
      swarmOptFields("master", ["default-addr-pool=10.20.0.0/16", "default-addr-pool=10.30.0.0/16", "default-addr-pool-mask-length=26", "data-path-port=7789", "availability=drain", "listen-addr=0.0.0.0:4567"]),
    ).toEqual({ DefaultAddrPool: ["10.20.0.0/16", "10.30.0.0/16"], SubnetSize: 26, DataPathPort: 7789, Availability: "drain", ListenAddr: "0.0.0.0:4567" });
    expect(swarmOptFields("worker", ["data-path-addr=eth1"])).toEqual({ DataPathAddr: "eth1" });
  });
});

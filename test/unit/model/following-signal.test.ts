import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { followingSignal } from "../../../src/model/abort.js";

describe("followingSignal (issue 11, defect 10)", () => {
  it("follows the command's signal, with its reason, adding no listener to it however many machines listen", () => {
    const command = new AbortController();
    const forks = Array.from({ length: 12 }, () => followingSignal(command.signal));
    const heard: unknown[] = [];
    for (const f of forks) for (let i = 0; i < 3; i++) f.addEventListener("abort", () => heard.push(f.reason), { once: true });
    expect(getEventListeners(command.signal, "abort")).toHaveLength(0);
    const reason = new Error("stop");
    command.abort(reason);
    expect(forks.every((f) => f.aborted && f.reason === reason)).toBe(true);
    expect(heard).toHaveLength(36);
  });
});

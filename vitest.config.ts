import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "cli",
          include: ["test/cli/**/*.test.ts", "test/e2e/**/*.test.ts"],
          // These layers run the built bundle, as users do: build it once per run.
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
      {
        // Layer 4 (test/faults): signals at random points, stalls past lock timeouts, a full
        // disk, races and damaged stores against the built bundle with the none driver. It runs
        // after the other layers (groupOrder) and one file at a time: it times the command after
        // each fault, and holds processes stopped for longer than any lock's stale timeout.
        extends: true,
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          globalSetup: ["test/faults/global-setup.ts"],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          // Files that run their tests concurrently (each on its own store) run at most this many at once.
          maxConcurrency: 2,
          testTimeout: 120_000,
        },
      },
      {
        // The QEMU test image's own boot tests (test/vm), run on demand with
        // `npx vitest run --project vm`; the qemu driver's real-VM tests are in test/e2e.
        extends: true,
        test: { name: "vm", include: ["test/vm/**/*.test.ts"] },
      },
    ],
  },
});

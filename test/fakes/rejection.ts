import { expect } from "vitest";
import { TsmError } from "../../src/model/errors.js";

/** The TsmError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<TsmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a rejection with a TsmError").toBeInstanceOf(TsmError);
  return err as TsmError;
}

/**
 * The seam between the provisioner and the SSH layer. The provisioner only ever
 * talks to a host through `Remote`; the SSH layer (src/ssh) implements it over one
 * connection, and unit tests replace it with a table fake.
 */

export type { Remote, RunOptions, RunResult } from "../model/seams.js";

/**
 * POSIX single-quote quoting: THE one function for every user value that reaches a
 * remote shell. It lives in src/ssh/client.ts (which does not load ssh2) and is
 * re-exported here so that there is exactly one implementation.
 */
export { shQuote } from "../ssh/client.js";

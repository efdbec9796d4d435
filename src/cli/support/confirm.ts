/** Asks a yes/no question on stderr; only an answer starting with y or Y is yes (end of input is no). */
import type { Io } from "../../output/io.js";

export async function confirm(io: Io, question: string): Promise<boolean> {
  io.err(question);
  const answer = await io.readLine();
  return answer !== undefined && /^y/i.test(answer.trim());
}

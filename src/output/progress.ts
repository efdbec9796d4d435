/**
 * Step-by-step progress on stderr. On a terminal the current step is one live
 * line (spinner and elapsed time) that becomes "✔ step (1.2s)" when the next
 * step starts; elsewhere (pipes, CI logs) every step is a plain line, as it
 * happens. Other lines (warnings, debug) are printed above the live line.
 * `update` rewrites the current step's text in place (a download's progress
 * bar); on plain output it is one more line, so callers throttle it.
 */
import type { ProgressSink } from "../model/seams.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** The progress display (its contract is the model's ProgressSink). */
export type Progress = ProgressSink;

export function plainProgress(write: (text: string) => void): Progress {
  return {
    step: (text) => write(`${text}\n`),
    update: (text) => write(`${text}\n`),
    note: (text) => write(`${text}\n`),
    above: write,
    finish: () => undefined,
  };
}

export class LiveProgress implements Progress {
  #current: { text: string; started: number } | undefined;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 120,
  ) {}

  step(text: string): void {
    this.#done("✔");
    this.#current = { text, started: this.now() };
    this.#render();
    if (this.#timer === undefined && this.intervalMs > 0) {
      this.#timer = setInterval(() => this.#render(), this.intervalMs);
      this.#timer.unref();
    }
  }

  update(text: string): void {
    if (!this.#current) {
      this.step(text);
      return;
    }
    this.#current.text = text;
    this.#render(false);
  }

  note(text: string): void {
    this.above(`${text}\n`);
  }

  above(text: string): void {
    if (this.#current) this.write("\r\x1b[2K");
    this.write(text);
    if (text.endsWith("\n")) this.#render();
  }

  finish(ok: boolean): void {
    this.#done(ok ? "✔" : "✖");
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #elapsed(): string {
    return `${((this.now() - (this.#current?.started ?? this.now())) / 1000).toFixed(1)}s`;
  }

  #render(advance = true): void {
    if (!this.#current) return;
    if (advance) this.#frame = (this.#frame + 1) % FRAMES.length;
    this.write(`\r\x1b[2K${FRAMES[this.#frame]} ${this.#current.text} ${this.#elapsed()}`);
  }

  #done(mark: string): void {
    if (!this.#current) return;
    this.write(`\r\x1b[2K${mark} ${this.#current.text} (${this.#elapsed()})\n`);
    this.#current = undefined;
  }
}

/** Chooses live or plain output on first use, so commands that report no steps never ask whether stderr is a terminal. */
export function lazyProgress(choose: () => Progress, fallback: (text: string) => void): Progress {
  let impl: Progress | undefined;
  return {
    step: (text) => (impl ??= choose()).step(text),
    update: (text) => (impl ??= choose()).update(text),
    note: (text) => (impl ??= choose()).note(text),
    above: (text) => (impl ? impl.above(text) : fallback(text)),
    finish: (ok) => impl?.finish(ok),
  };
}

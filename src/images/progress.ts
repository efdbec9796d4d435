/**
 * Download progress for the image cache, on top of the CLI's Progress.
 *
 * On a terminal the current step line becomes a bar, redrawn at most about
 * ten times a second:
 *   Downloading debian-13-genericcloud-amd64.qcow2  [=========>          ]  45%  190/412 MiB  23 MiB/s
 * (without a Content-Length: the byte count and speed only). It is shortened
 * to fit the terminal width, since a wrapped live line cannot be redrawn.
 * Elsewhere (pipes, CI logs) it prints at most one line per quarter (25%, 50%,
 * 75%) plus a final line with the size and mean speed.
 *
 * `ensureImage` reports `bytes(size, size)` once when a transfer completes, so
 * the final line appears even when the total was unknown.
 */
import type { Progress } from "../output/progress.js";

export interface ImageProgress {
  /** A step line ("Downloading debian-13-genericcloud-amd64.qcow2 (412 MiB)..."). */
  step(text: string): void;
  /** Download progress, called often; the implementation throttles (TTY: live bar; plain: at most every 25%). */
  bytes(done: number, total: number | undefined): void;
}

/** A progress sink that shows nothing (tests, quiet callers). */
export const silentImageProgress: ImageProgress = { step: () => undefined, bytes: () => undefined };

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function unitFor(n: number): { size: number; name: string } {
  if (n >= GiB) return { size: GiB, name: "GiB" };
  if (n >= MiB) return { size: MiB, name: "MiB" };
  if (n >= KiB) return { size: KiB, name: "KiB" };
  return { size: 1, name: "B" };
}

function scaled(n: number, unit: { size: number; name: string }): string {
  const v = n / unit.size;
  return unit.size === 1 || unit.name === "MiB" || v >= 100 ? String(Math.floor(v)) : v.toFixed(1);
}

/** "412 MiB", "1.6 GiB", "12.0 KiB", "87 B". */
export function formatBytes(n: number): string {
  const unit = unitFor(n);
  return `${scaled(n, unit)} ${unit.name}`;
}

/** "190/412 MiB": both in the unit of the total. */
export function formatBytesOf(done: number, total: number): string {
  const unit = unitFor(total);
  return `${scaled(done, unit)}/${scaled(total, unit)} ${unit.name}`;
}

export function formatBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.floor(f * width);
  if (filled >= width) return `[${"=".repeat(width)}]`;
  return `[${"=".repeat(filled)}>${" ".repeat(width - filled - 1)}]`;
}

/** The step text without its trailing "..." and size in parentheses: the label in front of the bar. */
function labelOf(stepText: string): string {
  return stepText.replace(/\.\.\.$/, "").replace(/\s*\([^()]*\)$/, "");
}

export interface ImageProgressOptions {
  /** Clock in ms; default Date.now. */
  now?: () => number;
  /** Terminal width for the live line; default process.stderr.columns (or 80). */
  columns?: number;
}

/** Room the live line needs besides our text: spinner, space, and " 123.4s" elapsed time. */
const LIVE_LINE_EXTRA = 10;

/** Turns the CLI's Progress into an ImageProgress: a live bar on a terminal (`isTty`), sparse plain lines elsewhere. */
export function imageProgress(progress: Progress, isTty: boolean, options: ImageProgressOptions = {}): ImageProgress {
  const now = options.now ?? Date.now;
  let label = "";
  let started: number | undefined;
  let lastDraw: number | undefined;
  let lastQuarter = 0;
  let finished = false;

  const speed = (done: number): string | undefined => {
    const seconds = started === undefined ? 0 : (now() - started) / 1000;
    return seconds >= 0.5 ? `${formatBytes(done / seconds)}/s` : undefined;
  };

  const liveLine = (done: number, total: number | undefined): string => {
    const columns = options.columns ?? (process.stderr.columns || 80);
    const room = Math.max(20, columns - LIVE_LINE_EXTRA);
    const rate = speed(done);
    const render = (barWidth: number, withRate: boolean, name: string): string => {
      const parts = [name];
      if (total !== undefined && total > 0) {
        const pct = `${Math.floor(Math.min(1, done / total) * 100)}%`.padStart(4);
        if (barWidth > 0) parts.push(formatBar(done / total, barWidth));
        parts.push(pct, formatBytesOf(done, total));
      } else {
        parts.push(formatBytes(done));
      }
      if (withRate && rate) parts.push(rate);
      return parts.join("  ");
    };
    for (const [barWidth, withRate] of [[20, true], [10, true], [10, false], [0, false]] as const) {
      const line = render(barWidth, withRate, label);
      if (line.length <= room) return line;
    }
    const tail = render(0, false, "").trimStart();
    const nameRoom = room - tail.length - 2;
    if (nameRoom < 4) return tail.slice(0, room);
    return `${label.slice(0, nameRoom - 1)}…  ${tail}`;
  };

  return {
    step(text) {
      label = labelOf(text);
      started = undefined;
      lastDraw = undefined;
      lastQuarter = 0;
      finished = false;
      progress.step(text);
    },
    bytes(done, total) {
      if (finished) return;
      const t = now();
      started ??= t;
      const complete = total !== undefined && done >= total;
      if (isTty && !complete) {
        if (lastDraw !== undefined && t - lastDraw < 100) return;
        lastDraw = t;
        progress.update(liveLine(done, total));
      } else if (isTty) {
        // The text the step keeps once done ("✔ Downloading x (412 MiB, 23 MiB/s) (17.9s)").
        const rate = speed(done);
        progress.update(`${label} (${formatBytes(done)}${rate ? `, ${rate}` : ""})`);
      } else if (!complete) {
        if (total === undefined || total <= 0) return;
        const quarter = Math.floor((done / total) * 4);
        if (quarter <= lastQuarter || quarter >= 4) return;
        lastQuarter = quarter;
        progress.note(`  ${quarter * 25}%  ${formatBytesOf(done, total)}`);
      } else {
        const rate = speed(done);
        progress.note(`  100%  ${formatBytes(done)}${rate ? `  ${rate}` : ""}`);
      }
      if (complete) finished = true;
    },
  };
}

/**
 * For callers that only have a line logger (a driver's `OpContext.log`): steps
 * become lines, and the download shows as plain quarter lines.
 */
export function imageProgressFromLog(log: (line: string) => void, options: ImageProgressOptions = {}): ImageProgress {
  const lines: Progress = { step: log, update: log, note: log, above: (text) => log(text.replace(/\n$/, "")), finish: () => undefined };
  return imageProgress(lines, false, options);
}

/**
 * A port of Go's text/tabwriter (elastic tabstops) for the flag set Docker
 * Machine uses (none: left-aligned, no escapes, no HTML filtering). Byte-for-byte
 * output is what scripts parsing `ls` depend on, so the column-block algorithm
 * is reproduced as is, trailing padding included.
 */

/** Layout settings; see {@link tabwrite}. */
export interface TabwriterOptions {
  /** Minimal cell width, padding included. Default 5. */
  minwidth?: number;
  /** Width of a TAB in the output; only used when padchar is "\t". Default 1. */
  tabwidth?: number;
  /** Added to the widest cell of a column. Default 3. */
  padding?: number;
  /** One character used for padding; "\t" pads with tabs (rounded to tabwidth). Default " ". */
  padchar?: string;
}

interface Cell {
  text: string;
  /** Width in code points (Go counts runes). */
  width: number;
}

function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function cellOf(text: string): Cell {
  return { text, width: runeCount(text) };
}

/**
 * Splits text into lines of cells, one list of lines per "\f"-separated block
 * (Go flushes on \f). Each block ends with the (possibly empty) line after its
 * last newline, which format() prints without a newline.
 */
function splitLines(text: string): Cell[][][] {
  const blocks: Cell[][][] = [];
  let lines: Cell[][] = [[]];
  let line = lines[0]!;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    // \t \n \v \f (9..12) end a cell; \n and \f also end the line.
    if (ch < 9 || ch > 12) continue;
    line.push(cellOf(text.slice(start, i)));
    start = i + 1;
    if (ch === 10 || ch === 12) {
      line = [];
      lines.push(line);
      if (ch === 12) {
        blocks.push(lines);
        line = [];
        lines = [line];
      }
    }
  }
  // Go's Flush only terminates a non-empty trailing cell.
  if (start < text.length) line.push(cellOf(text.slice(start)));
  blocks.push(lines);
  return blocks;
}

/**
 * Go text/tabwriter with Docker Machine's settings by default: minwidth 5,
 * tabwidth 1, padding 3, padchar ' ', flags 0 (`tabwriter.NewWriter(w, 5, 1, 3, ' ', 0)`),
 * applied to the whole text followed by `Flush()`.
 *
 * Input: text whose cells are terminated by TAB (or VT) and whose lines end in
 * "\n" (or "\f", which also ends every column block and prints as "\n").
 * Semantics, as in Go:
 * - a column is a block of consecutive lines that all have a tab-terminated
 *   cell at that index; a line with fewer cells ends the block, so columns to
 *   its right restart below it;
 * - every tab-terminated cell is padded to max(minwidth, widest cell of its
 *   block + padding), even when empty or when nothing follows it (so lines
 *   may end in spaces);
 * - the last cell of a line is never padded; on the final line without "\n",
 *   trailing TABs are dropped (the text after the last TAB is not a column);
 * - widths count code points.
 *
 * @throws RangeError on negative sizes or a padchar that is not one UTF-16 unit.
 */
export function tabwrite(text: string, opts: TabwriterOptions = {}): string {
  const minwidth = opts.minwidth ?? 5;
  const tabwidth = opts.tabwidth ?? 1;
  const padding = opts.padding ?? 3;
  const padchar = opts.padchar ?? " ";
  if (minwidth < 0 || tabwidth < 0 || padding < 0) {
    throw new RangeError("tabwrite: negative minwidth, tabwidth, or padding");
  }
  if (padchar.length !== 1) throw new RangeError("tabwrite: padchar must be a single character");

  const out: string[] = [];
  const widths: number[] = [];

  const pad = (textw: number, cellw: number): void => {
    if (padchar === "\t") {
      if (tabwidth === 0) return; // tabs have no width: no padding possible
      const w = Math.ceil(cellw / tabwidth) * tabwidth;
      out.push("\t".repeat(Math.ceil((w - textw) / tabwidth)));
    } else if (cellw > textw) {
      out.push(padchar.repeat(cellw - textw));
    }
  };

  const writeLines = (lines: Cell[][], line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      for (let j = 0; j < line.length; j++) {
        const c = line[j]!;
        out.push(c.text);
        if (j < widths.length) pad(c.width, widths[j]!);
      }
      // Every line but the last one of a flush was ended by a newline (or \f).
      if (i + 1 < lines.length) out.push("\n");
    }
  };

  // Go's Writer.format: find the block of lines sharing column `widths.length`,
  // size it, recurse for the columns to its right, then print what remains.
  const format = (lines: Cell[][], line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(lines, line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const line = lines[t]!;
        if (column >= line.length - 1) break;
        const w = line[column]!.width + padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(lines, line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(lines, line0, line1);
  };

  for (const block of splitLines(text)) format(block, 0, block.length);
  return out.join("");
}

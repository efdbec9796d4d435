/** A VM serial console log as text: shared by `tsm logs` and the drivers' boot-failure messages. */

/** Console output made readable on a terminal: no escape sequences, no carriage returns. */
export function cleanConsole(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "") // CSI: colours, cursor moves, erase
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "") // OSC: titles
    .replace(/\x1b[()*+][0-9A-Za-z]/g, "") // character sets
    .replace(/\x1b[@-Z\\-_]/g, "") // other two-byte escapes (e.g. ESC M, reverse index)
    .replace(/\x1b/g, "") // anything left over
    .replace(/\r+\n/g, "\n")
    .replace(/\r/g, "\n");
}

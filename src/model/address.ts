/**
 * Is this an IP literal (v4 dotted quad or v6) rather than a host name?
 * Not a validator: callers pass addresses that were validated where they
 * entered tsm. It exists so hot paths need not load node:net (and with it
 * Node's whole stream stack) just to tell the two apart.
 */
export function isIpLiteral(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.includes(":");
}

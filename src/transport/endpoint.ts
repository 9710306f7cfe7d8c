// Addresses: the defaults every command shares, resolving a name to the numeric address the
// addon binds or connects to, and how an endpoint is printed.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** The default: loopback only, so nothing outside this machine can connect. */
export const DEFAULT_HOST = '127.0.0.1';

/** The port `serve` listens on and `connect`/`send` dial unless told otherwise. */
export const DEFAULT_PORT = 7070;

/** A numeric address for host ('localhost' → 127.0.0.1); IPv4 preferred for names. */
export async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  const { address } = await lookup(host, { family: 0, order: 'ipv4first' });
  return address;
}

/** The address family of a numeric host. */
export function isIPv6(host: string): boolean {
  return host.includes(':');
}

/** Is this numeric address a loopback one (127.0.0.0/8 or ::1)? */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** host:port as the ready line and messages print it (IPv6 without brackets: ::1:7070). */
export function formatEndpoint(address: string, port: number): string {
  return `${address}:${port}`;
}

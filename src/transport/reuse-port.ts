// SO_REUSEPORT sockets: the workers of `serve --workers N` each listen on the same port with their
// own socket, and the kernel spreads new connections among them (by a hash of the 4-tuple).
import { constants, native } from '../binding/native.js';
import { isIPv6 } from './endpoint.js';

/** A non-blocking TCP socket bound to host:port with SO_REUSEADDR and SO_REUSEPORT, not yet
 *  listening. Every socket sharing the port must set SO_REUSEPORT (and belong to one user). */
export function bindReusePort(host: string, port: number): number {
  const fd = native.socket(isIPv6(host) ? constants.AF_INET6 : constants.AF_INET, constants.SOCK_STREAM);
  try {
    native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_REUSEADDR, 1);
    native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_REUSEPORT, 1);
    native.bind(fd, host, port);
    return fd;
  } catch (error) {
    native.close(fd);
    throw error;
  }
}

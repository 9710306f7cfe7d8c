// The addon's socket calls on real loopback connections: bytes, addresses, connect, close.
import { networkInterfaces, constants as os } from 'node:os';
import { describe, expect, it } from 'vitest';
import { constants, native, READABLE, WRITABLE } from '../../src/binding/native.js';
import { systemError } from '../../src/binding/sys-error.js';
import { openFdCount } from '../helpers/fds.js';
import { connectPair, listenOn, receive, tcpSocket, trackFdsOfThisFile, waitFor } from '../helpers/sockets.js';

/** Connect/accept/close rounds in the fd-leak check: enough to show a leak of one fd per round. */
const LEAK_CHECK_CYCLES = 200;
/** A byte recv() must leave alone wherever it does not write. */
const UNTOUCHED = 0xaa;

const fds = trackFdsOfThisFile();

/** Does this machine have the IPv6 loopback address? */
function hasIpv6Loopback(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((info) => info.address === '::1'),
  );
}

describe('moving bytes', () => {
  it('recv() writes at the offset it is given and touches nothing else in the buffer', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('abc'), 0, 3);
    expect(waitFor(server, READABLE)).toBe(READABLE);

    const buffer = Buffer.alloc(16, UNTOUCHED);
    expect(native.recv(server, buffer, 5, 8)).toBe(3);
    const expected = Buffer.alloc(16, UNTOUCHED);
    expected.write('abc', 5);
    expect(buffer).toEqual(expected);
  });

  it('recv() takes at most length bytes; the rest waits for the next call', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('abcdef'), 0, 6);
    expect(waitFor(server, READABLE)).toBe(READABLE);

    const buffer = Buffer.alloc(6);
    expect(native.recv(server, buffer, 0, 2)).toBe(2);
    expect(waitFor(server, READABLE, 0)).toBe(READABLE);
    expect(receive(server, 4).toString()).toBe('cdef');
  });

  it('send() writes buffer[offset .. offset + length) only', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    expect(native.send(client, Buffer.from('..hello..'), 2, 5)).toBe(5);
    expect(receive(server, 5).toString()).toBe('hello');
  });

  it('shutdown(SHUT_WR) sends EOF to the peer while the socket can still receive', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.shutdown(client, constants.SHUT_WR);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(native.recv(server, Buffer.alloc(4), 0, 4)).toBe(0);

    native.send(server, Buffer.from('late'), 0, 4);
    expect(receive(client, 4).toString()).toBe('late');
  });

  it('outq() counts what the kernel holds for a peer that does not read, and goes down once it reads', async () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    while (native.send(client, chunk, 0, chunk.length) > 0);
    // Bytes still move into the peer's window for a moment; then nothing moves.
    let held = native.outq(client);
    for (let settled = 0; settled < 10; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = native.outq(client);
      settled = now === held ? settled + 1 : 0;
      held = now;
    }
    expect(held).toBeGreaterThan(0);
    receive(server, 256 * 1024);
    const deadline = Date.now() + 2000;
    while (native.outq(client) >= held && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(native.outq(client)).toBeLessThan(held);
    expect(() => native.outq(-1)).toThrow();
  });
});

describe('addresses and options', () => {
  it('getsockname() and getpeername() name both ends as { address, port, family }', () => {
    const listener = listenOn(fds);
    const { client, server } = connectPair(fds, listener);
    const clientEnd = native.getsockname(client);
    expect(clientEnd).toEqual({ address: '127.0.0.1', port: expect.any(Number), family: 'IPv4' });
    expect(native.getpeername(client)).toEqual({
      address: '127.0.0.1',
      port: listener.port,
      family: 'IPv4',
    });
    expect(native.getsockname(server)).toEqual(native.getpeername(client));
    expect(native.getpeername(server)).toEqual(clientEnd);
  });

  it('IPv6 works on ::1: listen, connect and accept, and getsockname() says family IPv6', (context) => {
    if (!hasIpv6Loopback()) context.skip('this machine has no IPv6 loopback address ::1');
    const listener = listenOn(fds, '::1');
    expect(native.getsockname(listener.fd)).toEqual({
      address: '::1',
      port: listener.port,
      family: 'IPv6',
    });
    const { client, server } = connectPair(fds, listener);
    expect(native.getpeername(server)).toEqual(native.getsockname(client));
    native.send(client, Buffer.from('v6'), 0, 2);
    expect(receive(server, 2).toString()).toBe('v6');
  });

  it('setsockopt() and getsockopt() round-trip an integer option (TCP_NODELAY)', () => {
    const fd = tcpSocket(fds);
    expect(native.getsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY)).toBe(0);
    native.setsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY, 1);
    expect(native.getsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY)).toBe(1);
  });
});

describe('non-blocking connect', () => {
  it('to a closed port: -EINPROGRESS, then writable, then SO_ERROR says ECONNREFUSED', () => {
    // A socket bound but not listening holds the port, and the kernel answers SYNs to it with RST.
    const closedPort = tcpSocket(fds);
    native.bind(closedPort, '127.0.0.1', 0);
    const { port } = native.getsockname(closedPort);
    const refused = { code: 'ECONNREFUSED', errno: -os.errno.ECONNREFUSED, syscall: 'connect' };

    const client = tcpSocket(fds);
    let result: number;
    try {
      result = native.connect(client, '127.0.0.1', port);
    } catch (error) {
      // Loopback may refuse inside connect() itself: the same answer, just sooner.
      expect(error).toMatchObject(refused);
      return;
    }
    expect(result).toBe(-constants.EINPROGRESS);

    // The handshake's end, success or failure, makes the socket writable...
    expect(waitFor(client, WRITABLE) & WRITABLE).toBe(WRITABLE);
    // ...and SO_ERROR holds the outcome as a positive errno, which systemError() names.
    const errno = native.getsockopt(client, constants.SOL_SOCKET, constants.SO_ERROR);
    expect(systemError(errno, 'connect')).toMatchObject(refused);
    // Reading SO_ERROR clears it.
    expect(native.getsockopt(client, constants.SOL_SOCKET, constants.SO_ERROR)).toBe(0);
  });

  it('to a listener: the socket turns writable with SO_ERROR 0, connected', () => {
    const listener = listenOn(fds);
    const client = tcpSocket(fds);
    const result = native.connect(client, '127.0.0.1', listener.port);
    expect([0, -constants.EINPROGRESS]).toContain(result);
    expect(waitFor(client, WRITABLE)).toBe(WRITABLE);
    expect(native.getsockopt(client, constants.SOL_SOCKET, constants.SO_ERROR)).toBe(0);
    expect(native.getpeername(client).port).toBe(listener.port);
  });
});

describe('file descriptors', () => {
  it(`${LEAK_CHECK_CYCLES} socket/connect/accept/close cycles leave the open fd count unchanged`, () => {
    const listener = listenOn(fds);
    const before = openFdCount();
    for (let cycle = 0; cycle < LEAK_CHECK_CYCLES; cycle++) {
      const { client, server } = connectPair(fds, listener);
      fds.close(client);
      fds.close(server);
    }
    expect(openFdCount()).toBe(before);
  });
});

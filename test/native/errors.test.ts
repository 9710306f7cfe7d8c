// How the addon fails: system call errors shaped like Node's; bad arguments stopped before the kernel.
import { openSync } from 'node:fs';
import { constants as os } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  constants,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  ERROR,
  HANGUP,
  isSystemError,
  native,
  READABLE,
  WRITABLE,
  type Epoller,
  type Poller,
} from '../../src/binding/native.js';
import { systemError } from '../../src/binding/sys-error.js';
import { nodeSystemError, thrownBy } from '../helpers/errors.js';
import { openFdLimit } from '../helpers/fds.js';
import {
  connectPair,
  listenOn,
  trackFdsOfThisFile,
  receive,
  tcpSocket,
  waitFor,
  type Connection,
} from '../helpers/sockets.js';

/** The addon's functions with argument types erased, to pass what TypeScript would refuse. */
type Untyped = Record<string, (...args: unknown[]) => unknown>;
const untyped = native as unknown as Untyped;
/** The same for an object the addon made. */
const untypedOf = (object: object) => object as unknown as Untyped;

const fds = trackFdsOfThisFile();

describe('a failed system call throws an Error with code, errno and syscall as Node sets them', () => {
  it('bind() to a port in use: EADDRINUSE, errno -98, syscall bind', () => {
    const listener = listenOn(fds);
    const error = thrownBy(() => native.bind(tcpSocket(fds), '127.0.0.1', listener.port));
    expect(error).toBeInstanceOf(Error);
    expect(isSystemError(error)).toBe(true);
    expect(error).toEqual(nodeSystemError('EADDRINUSE', 'bind'));
    expect(error).toMatchObject({ errno: -98, message: 'bind EADDRINUSE' });
    // Node's own name for the errno agrees with the code.
    expect(getSystemErrorName((error as { errno: number }).errno)).toBe('EADDRINUSE');
  });

  it('recv() on a closed fd: EBADF', () => {
    const fd = tcpSocket(fds);
    fds.close(fd);
    expect(() => native.recv(fd, Buffer.alloc(1), 0, 1)).toThrow(nodeSystemError('EBADF', 'recv'));
  });

  it('recv() on an fd that is not a socket: ENOTSOCK', () => {
    const devNull = fds.track(openSync('/dev/null', 'r'));
    expect(() => native.recv(devNull, Buffer.alloc(1), 0, 1)).toThrow(
      nodeSystemError('ENOTSOCK', 'recv'),
    );
  });

  it('recv() after the peer closed abortively (SO_LINGER 0 sends RST): ECONNRESET', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.setsockopt(client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(client);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(() => native.recv(server, Buffer.alloc(8), 0, 8)).toThrow(
      nodeSystemError('ECONNRESET', 'recv'),
    );
  });

  it('send() to a reset connection: EPIPE as an Error, never a process-killing SIGPIPE', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.setsockopt(client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(client);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(() => native.recv(server, Buffer.alloc(8), 0, 8)).toThrow(); // ECONNRESET, reported once
    expect(() => native.send(server, Buffer.from('x'), 0, 1)).toThrow(
      nodeSystemError('EPIPE', 'send'),
    );
  });

  it('wait() on a selector still watching a closed fd: select EBADF', () => {
    const fd = tcpSocket(fds);
    const selector = new native.Selector();
    selector.add(fd, READABLE);
    fds.close(fd); // closed without remove(): the selector's sets still name it
    expect(() => selector.wait(0, new Int32Array(2))).toThrow(nodeSystemError('EBADF', 'select'));
  });

  it('wait() on a Poller holding more entries than the open-fd limit: poll EINVAL', (context) => {
    const limit = openFdLimit();
    if (!Number.isFinite(limit)) context.skip('the open-fd limit (ulimit -n) is unlimited');
    // poll() checks nfds against the limit before it looks at any fd, so none need be open.
    const poller = new native.Poller();
    for (let fd = 0; fd <= limit; fd++) poller.set(fd, READABLE);
    expect(() => poller.wait(0, new Int32Array(2))).toThrow(nodeSystemError('EINVAL', 'poll'));
  });

  it('systemError() turns an errno number (as SO_ERROR gives) into the same Error a failed call throws', () => {
    const listener = listenOn(fds);
    const thrown = thrownBy(() => native.bind(tcpSocket(fds), '127.0.0.1', listener.port));
    const built = systemError(os.errno.EADDRINUSE, 'bind');
    expect(built).toBeInstanceOf(Error);
    expect(isSystemError(built)).toBe(true);
    expect({ ...built, message: built.message }).toEqual({
      ...(thrown as object),
      message: (thrown as Error).message,
    });
  });
});

describe('bad arguments throw TypeError or RangeError and never reach the kernel', () => {
  const invalidType = expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  const invalidAddress = expect.objectContaining({
    name: 'TypeError',
    code: 'ERR_INVALID_IP_ADDRESS',
  });
  const PENDING = 'keep';

  /** Each bad call runs on a connection with bytes waiting both ways, to show none are lost. */
  const badCalls: { what: string; call: (c: Connection) => unknown; error: unknown }[] = [
    {
      what: 'recv() with a negative length',
      call: ({ server }) => native.recv(server, Buffer.alloc(8), 0, -1),
      error: outOfRange,
    },
    {
      what: 'recv() with an offset past the buffer',
      call: ({ server }) => native.recv(server, Buffer.alloc(8), 9, 0),
      error: outOfRange,
    },
    {
      what: 'recv() with offset + length past the buffer',
      call: ({ server }) => native.recv(server, Buffer.alloc(8), 4, 5),
      error: outOfRange,
    },
    {
      what: 'recv() with length 0 (a zero-byte read would look like EOF)',
      call: ({ server }) => native.recv(server, Buffer.alloc(8), 0, 0),
      error: outOfRange,
    },
    {
      what: 'connect() to an address with a NUL byte inside',
      call: ({ client }) => native.connect(client, '127.0.0.1\0junk', 80),
      error: invalidAddress,
    },
    {
      what: 'recv() with a fractional length',
      call: ({ server }) => native.recv(server, Buffer.alloc(8), 0, 1.5),
      error: outOfRange,
    },
    {
      what: 'recv() with an fd that is not a number',
      call: ({ server }) => untyped.recv(String(server), Buffer.alloc(8), 0, 8),
      error: invalidType,
    },
    {
      what: 'recv() with a negative fd',
      call: () => native.recv(-1, Buffer.alloc(8), 0, 8),
      error: outOfRange,
    },
    {
      what: 'recv() into a string, not a buffer',
      call: ({ server }) => untyped.recv(server, 'not a buffer', 0, 1),
      error: invalidType,
    },
    {
      what: 'send() from an array, not a buffer',
      call: ({ client }) => untyped.send(client, [1, 2, 3], 0, 3),
      error: invalidType,
    },
    {
      what: 'send() with a missing length',
      call: ({ client }) => untyped.send(client, Buffer.from('xyz'), 0),
      error: invalidType,
    },
    {
      what: 'connect() to a host name, not a numeric address',
      call: ({ client }) => native.connect(client, 'localhost', 80),
      error: invalidAddress,
    },
    {
      what: 'connect() to an IPv4 address with an octet over 255',
      call: ({ client }) => native.connect(client, '256.0.0.1', 80),
      error: invalidAddress,
    },
    {
      what: 'connect() to port 65536',
      call: ({ client }) => native.connect(client, '127.0.0.1', 65536),
      error: outOfRange,
    },
    {
      what: 'setsockopt() with a value that is not a number',
      call: ({ client }) =>
        untyped.setsockopt(client, constants.SOL_SOCKET, constants.SO_SNDBUF, '4096'),
      error: invalidType,
    },
  ];

  for (const { what, call, error } of badCalls) {
    it(what, () => {
      const connection = connectPair(fds, listenOn(fds));
      native.send(connection.client, Buffer.from(PENDING), 0, PENDING.length);
      native.send(connection.server, Buffer.from(PENDING), 0, PENDING.length);

      expect(() => call(connection)).toThrow(error);

      // Both ends still hold exactly the bytes sent before: nothing read, nothing extra written.
      expect(receive(connection.server, PENDING.length).toString()).toBe(PENDING);
      expect(receive(connection.client, PENDING.length).toString()).toBe(PENDING);
      expect(waitFor(connection.server, READABLE, 0)).toBe(0);
      expect(waitFor(connection.client, READABLE, 0)).toBe(0);
    });
  }

  it('bind() of an IPv4 socket to ::1 fails in bind, not in a v6-only setsockopt', () => {
    const fd = tcpSocket(fds);
    expect(() => native.bind(fd, '::1', 0)).toThrow(expect.objectContaining({ syscall: 'bind' }));
  });

  it('bind() to a bad address leaves the socket unbound', () => {
    const fd = tcpSocket(fds);
    expect(() => native.bind(fd, '127.0.0.1.1', 0)).toThrow(invalidAddress);
    expect(native.getsockname(fd)).toEqual({ address: '0.0.0.0', port: 0, family: 'IPv4' });
  });

  it('Selector.add() with a mask outside READABLE | WRITABLE | EXCEPTION', () => {
    const selector = new native.Selector();
    expect(() => selector.add(0, 8)).toThrow(outOfRange);
    expect(selector.maxFd).toBe(-1);
  });

  it('Selector.wait() with a timeout below -1, NaN, or an out array that is not an Int32Array', () => {
    const selector = new native.Selector();
    expect(() => selector.wait(-2, new Int32Array(2))).toThrow(outOfRange);
    expect(() => selector.wait(Number.NaN, new Int32Array(2))).toThrow(outOfRange);
    expect(() => selector.wait(Infinity, new Int32Array(2))).toThrow(outOfRange);
    expect(() => selector.wait(0, new Int32Array(1))).toThrow(outOfRange);
    const untypedSelector = selector as unknown as Untyped;
    expect(() => untypedSelector.wait('0', new Int32Array(2))).toThrow(invalidType);
    expect(() => untypedSelector.wait(0, new Uint32Array(2))).toThrow(invalidType);
  });

  /** Each bad call is made on a Poller watching /dev/null for reading, never waited on yet. */
  const badPollerCalls: {
    what: string;
    call: (poller: Poller, fd: number) => unknown;
    error: unknown;
  }[] = [
    {
      what: 'Poller.set() with an fd that is not a number',
      call: (poller, fd) => untypedOf(poller).set(String(fd), WRITABLE),
      error: invalidType,
    },
    {
      what: 'Poller.set() with a negative fd',
      call: (poller) => poller.set(-1, READABLE),
      error: outOfRange,
    },
    {
      what: 'Poller.set() with HANGUP in the mask (a result, not an interest)',
      call: (poller, fd) => poller.set(fd, READABLE | HANGUP),
      error: outOfRange,
    },
    {
      what: 'Poller.set() with a fractional mask',
      call: (poller, fd) => poller.set(fd, 1.5),
      error: outOfRange,
    },
    {
      what: 'Poller.wait() with a timeout below -1',
      call: (poller) => poller.wait(-2, new Int32Array(2)),
      error: outOfRange,
    },
    {
      what: 'Poller.wait() with a NaN timeout',
      call: (poller) => poller.wait(Number.NaN, new Int32Array(2)),
      error: outOfRange,
    },
    {
      what: 'Poller.wait() with a timeout above 2147483647 ms',
      call: (poller) => poller.wait(2 ** 31, new Int32Array(2)),
      error: outOfRange,
    },
    {
      what: 'Poller.wait() with a timeout that is a string',
      call: (poller) => untypedOf(poller).wait('0', new Int32Array(2)),
      error: invalidType,
    },
    {
      what: 'Poller.wait() into an out array with no room for one pair',
      call: (poller) => poller.wait(0, new Int32Array(1)),
      error: outOfRange,
    },
    {
      what: 'Poller.wait() into a Uint32Array',
      call: (poller) => untypedOf(poller).wait(0, new Uint32Array(2)),
      error: invalidType,
    },
    {
      what: 'Poller.entries() into a plain array',
      call: (poller) => untypedOf(poller).entries([0, 0, 0]),
      error: invalidType,
    },
  ];

  for (const { what, call, error } of badPollerCalls) {
    it(what, () => {
      const devNull = fds.track(openSync('/dev/null', 'r'));
      const poller = new native.Poller();
      poller.set(devNull, READABLE);

      expect(() => call(poller, devNull)).toThrow(error);

      // The array is as it was, and no poll() ran: it would have answered READABLE for /dev/null.
      const entries = new Int32Array(6);
      expect(poller.entries(entries)).toBe(1);
      expect([...entries.subarray(0, 3)]).toEqual([devNull, READABLE, 0]);
    });
  }

  /** Each bad call is made on an Epoller watching `listed`; `other` is open and not listed. */
  const badEpollerCalls: {
    what: string;
    call: (epoller: Epoller, other: number) => unknown;
    error: unknown;
  }[] = [
    {
      what: 'Epoller.ctl() with an op that is not a number',
      call: (epoller, other) => untypedOf(epoller).ctl('ADD', other, READABLE),
      error: invalidType,
    },
    {
      what: 'Epoller.ctl() with an op that is none of EPOLL_CTL_ADD, _MOD, _DEL',
      call: (epoller, other) =>
        epoller.ctl(Math.max(EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL) + 1, other, READABLE),
      error: outOfRange,
    },
    {
      what: 'Epoller.ctl() with op 0',
      call: (epoller, other) => epoller.ctl(0, other, READABLE),
      error: outOfRange,
    },
    {
      what: 'Epoller.ctl() with an fd that is not a number',
      call: (epoller, other) => untypedOf(epoller).ctl(EPOLL_CTL_ADD, String(other), READABLE),
      error: invalidType,
    },
    {
      what: 'Epoller.ctl() with a negative fd',
      call: (epoller) => epoller.ctl(EPOLL_CTL_ADD, -1, READABLE),
      error: outOfRange,
    },
    {
      what: 'Epoller.ctl() with ERROR in the mask (a result, not an interest)',
      call: (epoller, other) => epoller.ctl(EPOLL_CTL_ADD, other, READABLE | ERROR),
      error: outOfRange,
    },
    {
      what: 'Epoller.ctl() with a negative mask',
      call: (epoller, other) => epoller.ctl(EPOLL_CTL_ADD, other, -1),
      error: outOfRange,
    },
    {
      what: 'Epoller.ctl() with a missing mask',
      call: (epoller, other) => untypedOf(epoller).ctl(EPOLL_CTL_ADD, other),
      error: invalidType,
    },
    {
      what: 'Epoller.wait() with a timeout below -1',
      call: (epoller) => epoller.wait(-2, new Int32Array(2)),
      error: outOfRange,
    },
    {
      what: 'Epoller.wait() with a timeout above 2147483647 ms',
      call: (epoller) => epoller.wait(2 ** 31, new Int32Array(2)),
      error: outOfRange,
    },
    {
      what: 'Epoller.wait() into an out array with no room for one pair',
      call: (epoller) => epoller.wait(0, new Int32Array(1)),
      error: outOfRange,
    },
    {
      what: 'Epoller.wait() into a Buffer',
      call: (epoller) => untypedOf(epoller).wait(0, Buffer.alloc(8)),
      error: invalidType,
    },
  ];

  for (const { what, call, error } of badEpollerCalls) {
    it(what, ({ onTestFinished }) => {
      const listed = listenOn(fds).fd;
      const other = listenOn(fds).fd;
      const epoller = new native.Epoller();
      onTestFinished(() => epoller.close());
      epoller.ctl(EPOLL_CTL_ADD, listed, READABLE);

      expect(() => call(epoller, other)).toThrow(error);

      // No epoll_ctl() ran: other can still be added (no EEXIST), listed changed (no ENOENT).
      epoller.ctl(EPOLL_CTL_ADD, other, READABLE);
      epoller.ctl(EPOLL_CTL_MOD, listed, READABLE);
    });
  }
});

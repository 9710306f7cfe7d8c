// poll() through the addon's Poller: what each revents bit means for a TCP socket on Linux, and
// how the kept pollfd array behaves between calls.
import { closeSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  constants,
  ERROR,
  EXCEPTION,
  FD_SETSIZE,
  HANGUP,
  INVALID,
  native,
  READABLE,
  WRITABLE,
} from '../../src/binding/native.js';
import { drainUntilWritable, sendUntilFull, smallBufferConnection } from '../helpers/buffers.js';
import {
  devNullFds,
  FDS_NEEDED_ABOVE_SETSIZE,
  openDevNullUntil,
  openFdLimit,
} from '../helpers/fds.js';
import {
  connectPair,
  listenOn,
  receive,
  tcpSocket,
  trackFdsOfThisFile,
  WAIT_LIMIT_MS,
} from '../helpers/sockets.js';
import {
  inAMoment,
  LATER_FLOOR_MS,
  SHORT_TIMEOUT_FLOOR_MS,
  SHORT_TIMEOUT_MS,
  stop,
} from '../helpers/waits.js';

const fds = trackFdsOfThisFile();

/** poll() on one fd for up to timeoutMs: its result mask, or 0 on timeout. */
function pollFor(fd: number, mask: number, timeoutMs = WAIT_LIMIT_MS): number {
  const poller = new native.Poller();
  poller.set(fd, mask);
  const ready = new Int32Array(2);
  return poller.wait(timeoutMs, ready) === 1 ? ready[1] : 0;
}

/** The Poller's entries as [fd, interest, result] triples. */
function entriesOf(poller: InstanceType<typeof native.Poller>): number[][] {
  const out = new Int32Array(3 * poller.size);
  const count = poller.entries(out);
  return Array.from({ length: count }, (_, i) => [...out.subarray(3 * i, 3 * i + 3)]);
}

describe('reading', () => {
  it('a listening socket becomes readable when a client connects', () => {
    const listener = listenOn(fds);
    expect(pollFor(listener.fd, READABLE, 0)).toBe(0);
    native.connect(tcpSocket(fds), '127.0.0.1', listener.port);
    expect(pollFor(listener.fd, READABLE)).toBe(READABLE);
  });

  it('a connected socket becomes readable when data arrives', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    expect(pollFor(server, READABLE, 0)).toBe(0);
    native.send(client, Buffer.from('ping'), 0, 4);
    expect(pollFor(server, READABLE)).toBe(READABLE);
    expect(receive(server, 4).toString()).toBe('ping');
  });

  it('EOF (the peer closed) is READABLE without HANGUP: one direction is still open', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    fds.close(client);
    expect(pollFor(server, READABLE)).toBe(READABLE);
    expect(native.recv(server, Buffer.alloc(8), 0, 8)).toBe(0);
    expect(pollFor(server, READABLE | WRITABLE, 0)).toBe(READABLE | WRITABLE);
  });

  it('HANGUP comes once both directions are shut: the peer closed and we shut down writing', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    fds.close(client);
    expect(pollFor(server, READABLE)).toBe(READABLE);
    native.shutdown(server, constants.SHUT_WR);
    expect(pollFor(server, READABLE, 0)).toBe(READABLE | HANGUP);
    // Writable too: a send() would not block, it would fail at once (EPIPE).
    expect(pollFor(server, READABLE | WRITABLE, 0)).toBe(READABLE | WRITABLE | HANGUP);
  });

  it('an RST (the peer closed with SO_LINGER 0) is READABLE | ERROR | HANGUP; recv() takes the error, HANGUP stays', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.setsockopt(client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(client);
    expect(pollFor(server, READABLE)).toBe(READABLE | ERROR | HANGUP);
    expect(() => native.recv(server, Buffer.alloc(8), 0, 8)).toThrow(
      expect.objectContaining({ code: 'ECONNRESET' }),
    );
    expect(pollFor(server, READABLE, 0)).toBe(READABLE | HANGUP);
  });
});

describe('writing', () => {
  it('a connected socket is writable while its send buffer has room', () => {
    const { client } = connectPair(fds, listenOn(fds));
    expect(pollFor(client, WRITABLE, 0)).toBe(WRITABLE);
  });

  it('a socket is not writable once a peer that never reads has let the buffers fill', () => {
    const { client } = smallBufferConnection(fds);
    expect(sendUntilFull(client).at(-1)).toBe(-constants.EAGAIN);
    expect(pollFor(client, WRITABLE, 0)).toBe(0);
  });

  it('a full socket turns writable again once the peer reads', () => {
    const { client, server } = smallBufferConnection(fds);
    expect(sendUntilFull(client).at(-1)).toBe(-constants.EAGAIN);
    const poller = new native.Poller();
    poller.set(server, READABLE);
    poller.set(client, WRITABLE);
    expect(drainUntilWritable(poller, client, server)).toBe(true);
    expect(native.send(client, Buffer.from('more'), 0, 4)).toBe(4);
  });
});

describe('the timeout', () => {
  it('timeout 0 polls: wait() returns at once with nothing ready', () => {
    const { server } = connectPair(fds, listenOn(fds));
    const poller = new native.Poller();
    poller.set(server, READABLE);
    const start = performance.now();
    expect(poller.wait(0, new Int32Array(2))).toBe(0);
    expect(performance.now() - start).toBeLessThan(SHORT_TIMEOUT_FLOOR_MS);
  });

  it('a timeout elapses when nothing becomes ready (a 50 ms wait takes at least ~45 ms)', () => {
    const { server } = connectPair(fds, listenOn(fds));
    const poller = new native.Poller();
    poller.set(server, READABLE);
    const start = performance.now();
    expect(poller.wait(SHORT_TIMEOUT_MS, new Int32Array(2))).toBe(0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT_TIMEOUT_FLOOR_MS);
  });

  it('timeout -1 blocks until an fd is ready: here, data another process sends ~100 ms later', async () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const poller = new native.Poller();
    poller.set(server, READABLE);
    // Before the child exists: its delay cannot have started earlier.
    const start = performance.now();
    const sender = inAMoment('printf wake >&3', client);
    try {
      fds.close(client); // the sender holds the last copy
      const ready = new Int32Array(2);
      expect(poller.wait(-1, ready)).toBe(1);
      expect(performance.now() - start).toBeGreaterThanOrEqual(LATER_FLOOR_MS);
      expect([...ready]).toEqual([server, READABLE]);
      expect(receive(server, 4).toString()).toBe('wake');
    } finally {
      await stop(sender);
    }
  });

  it('a signal during a blocking wait() ends it with -EINTR; the JS handler runs once Node has the thread again', async () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const poller = new native.Poller();
    poller.set(server, READABLE);
    const signalled = once(process, 'SIGUSR2');
    // exec: the sleep holding fd 3 is the child itself, so stop() ends it.
    // Before the child exists: its delay cannot have started earlier.
    const start = performance.now();
    const signaller = inAMoment(`kill -USR2 ${process.pid}; exec sleep 10`, client);
    try {
      fds.close(client); // if the signal came before the wait, the signaller's exit would end it
      expect(poller.wait(-1, new Int32Array(2))).toBe(-constants.EINTR);
      expect(performance.now() - start).toBeGreaterThanOrEqual(LATER_FLOOR_MS);
      await signalled;
    } finally {
      await stop(signaller);
    }
  });
});

describe('the Poller', () => {
  it('set() replaces an fd\'s interest, and mask 0 takes it out, from the next wait() on', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('x'), 0, 1);
    expect(pollFor(server, READABLE)).toBe(READABLE);

    const poller = new native.Poller();
    const ready = new Int32Array(2);
    poller.set(server, READABLE | WRITABLE);
    expect(poller.wait(0, ready)).toBe(1);
    expect([...ready]).toEqual([server, READABLE | WRITABLE]);
    poller.set(server, WRITABLE);
    expect(poller.wait(0, ready)).toBe(1);
    expect([...ready]).toEqual([server, WRITABLE]);
    poller.set(server, 0);
    expect(poller.size).toBe(0);
    expect(poller.wait(0, ready)).toBe(0);
  });

  it('an fd closed while still in the array is reported INVALID (POLLNVAL) at every wait(), not thrown', () => {
    const fd = tcpSocket(fds);
    const poller = new native.Poller();
    poller.set(fd, READABLE);
    fds.close(fd); // closed without set(fd, 0): a caller bug poll() reports
    const ready = new Int32Array(2);
    expect(poller.wait(0, ready)).toBe(1);
    expect([...ready]).toEqual([fd, INVALID]);
    expect(poller.wait(0, ready)).toBe(1);
    poller.set(fd, 0);
    expect(poller.wait(0, ready)).toBe(0);
  });

  it('wait() writes (fd, mask) pairs in array order, no more than out holds; the rest stay ready', () => {
    const [low, high] = devNullFds(fds, 2);
    const poller = new native.Poller();
    poller.set(high, READABLE); // /dev/null is always readable
    poller.set(low, READABLE);

    const both = new Int32Array(4);
    expect(poller.wait(0, both)).toBe(2);
    expect([...both]).toEqual([high, READABLE, low, READABLE]);

    // Room for one pair: the first entry is reported; poll() is level-triggered, so the other
    // is still ready at the next wait() and nothing is lost.
    const one = new Int32Array(2);
    expect(poller.wait(0, one)).toBe(1);
    expect([...one]).toEqual([high, READABLE]);
    poller.set(high, 0);
    expect(poller.wait(0, one)).toBe(1);
    expect([...one]).toEqual([low, READABLE]);
  });

  it('size counts the entries: set() appends a new fd, updates a known one in place, and 0 moves the last entry into the hole', () => {
    const [a, b, c] = devNullFds(fds, 3);
    const poller = new native.Poller();
    expect(poller.size).toBe(0);
    poller.set(a, READABLE);
    poller.set(b, READABLE);
    poller.set(c, WRITABLE);
    expect(poller.size).toBe(3);
    poller.set(a, READABLE | WRITABLE);
    expect(poller.size).toBe(3);
    expect(entriesOf(poller).map(([fd, interest]) => [fd, interest])).toEqual([
      [a, READABLE | WRITABLE],
      [b, READABLE],
      [c, WRITABLE],
    ]);
    poller.set(a, 0);
    expect(poller.size).toBe(2);
    expect(entriesOf(poller).map(([fd]) => fd)).toEqual([c, b]);
    poller.set(a, 0); // not in the array: nothing changes
    expect(poller.size).toBe(2);
    // The moved entry is found in its new slot, to update and to take out.
    poller.set(c, READABLE | WRITABLE);
    expect(entriesOf(poller).map(([fd, interest]) => [fd, interest])).toEqual([
      [c, READABLE | WRITABLE],
      [b, READABLE],
    ]);
    poller.set(c, 0);
    expect(entriesOf(poller).map(([fd, interest]) => [fd, interest])).toEqual([[b, READABLE]]);
  });

  it('entries() gives each entry\'s interest and what the last wait() got back for it: 0 when set() since; no more triples than out holds', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const poller = new native.Poller();
    poller.set(server, READABLE | EXCEPTION);
    poller.set(client, READABLE | WRITABLE);
    expect(entriesOf(poller)).toEqual([
      [server, READABLE | EXCEPTION, 0],
      [client, READABLE | WRITABLE, 0],
    ]);
    expect(poller.wait(0, new Int32Array(4))).toBe(1);
    expect(entriesOf(poller)).toEqual([
      [server, READABLE | EXCEPTION, 0],
      [client, READABLE | WRITABLE, WRITABLE],
    ]);
    poller.set(client, WRITABLE);
    expect(entriesOf(poller)).toEqual([
      [server, READABLE | EXCEPTION, 0],
      [client, WRITABLE, 0],
    ]);

    const short = new Int32Array(5).fill(-1); // room for one triple and a bit
    expect(poller.entries(short)).toBe(1);
    expect([...short]).toEqual([server, READABLE | EXCEPTION, 0, -1, -1]);
    expect(poller.entries(new Int32Array(0))).toBe(0);
  });

  it('fds above FD_SETSIZE work: no 1024 limit', (context) => {
    const limit = openFdLimit();
    if (limit < FDS_NEEDED_ABOVE_SETSIZE) {
      context.skip(`the open-fd limit (ulimit -n) is ${limit}, below ${FDS_NEEDED_ABOVE_SETSIZE}`);
    }
    const opened = openDevNullUntil(FD_SETSIZE, FDS_NEEDED_ABOVE_SETSIZE);
    try {
      expect(opened.at(-1)).toBeGreaterThanOrEqual(FD_SETSIZE);
      // Every fd from here on is above FD_SETSIZE, so poll() watches the handshake too.
      const { client, server } = connectPair(fds, listenOn(fds), pollFor);
      expect(Math.min(client, server)).toBeGreaterThan(FD_SETSIZE);
      native.send(client, Buffer.from('high'), 0, 4);
      expect(pollFor(server, READABLE)).toBe(READABLE);
      // Beside a low fd, as a loop would hold them.
      const poller = new native.Poller();
      poller.set(opened[0], READABLE);
      poller.set(server, READABLE);
      const ready = new Int32Array(4);
      expect(poller.wait(0, ready)).toBe(2);
      expect([...ready]).toEqual([opened[0], READABLE, server, READABLE]);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  });
});

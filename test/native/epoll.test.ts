// epoll through the addon's Epoller: what each event bit means for a TCP socket on Linux, what
// epoll_ctl() refuses, and the epoll fd's own life: opened close-on-exec, closed exactly once.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  constants,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  ERROR,
  FD_SETSIZE,
  HANGUP,
  native,
  READABLE,
  WRITABLE,
} from '../../src/binding/native.js';
import { drainUntilWritable, sendUntilFull, smallBufferConnection } from '../helpers/buffers.js';
import { nodeSystemError } from '../helpers/errors.js';
import {
  FDS_NEEDED_ABOVE_SETSIZE,
  openDevNullUntil,
  openFdCount,
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

/** Epollers the fd-count tests open and close, far more than any leak could hide in. */
const MANY_EPOLLERS = 1000;
/** Epollers the collection test drops, and the most gc() rounds it gives their finalizers. */
const DROPPED_EPOLLERS = 100;
const MAX_GC_ROUNDS = 20;
/** O_CLOEXEC as /proc/<pid>/fdinfo shows it (octal flags). */
const O_CLOEXEC = 0o2000000;

const fds = trackFdsOfThisFile();

/** epoll on one fd for up to timeoutMs: its result mask, or 0 on timeout. */
function epollFor(fd: number, mask: number, timeoutMs = WAIT_LIMIT_MS): number {
  const epoller = new native.Epoller();
  try {
    epoller.ctl(EPOLL_CTL_ADD, fd, mask);
    const ready = new Int32Array(2);
    return epoller.wait(timeoutMs, ready) === 1 ? ready[1] : 0;
  } finally {
    epoller.close();
  }
}

/** A new Epoller that is closed after the test, whatever happens. */
function epollerForThisTest(onTestFinished: (fn: () => void) => void) {
  const epoller = new native.Epoller();
  onTestFinished(() => epoller.close());
  return epoller;
}

describe('reading', () => {
  it('a listening socket becomes readable when a client connects', () => {
    const listener = listenOn(fds);
    expect(epollFor(listener.fd, READABLE, 0)).toBe(0);
    native.connect(tcpSocket(fds), '127.0.0.1', listener.port);
    expect(epollFor(listener.fd, READABLE)).toBe(READABLE);
  });

  it('a connected socket becomes readable when data arrives', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    expect(epollFor(server, READABLE, 0)).toBe(0);
    native.send(client, Buffer.from('ping'), 0, 4);
    expect(epollFor(server, READABLE)).toBe(READABLE);
    expect(receive(server, 4).toString()).toBe('ping');
  });

  it('EOF (the peer closed) is READABLE without HANGUP: one direction is still open', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    fds.close(client);
    expect(epollFor(server, READABLE)).toBe(READABLE);
    expect(native.recv(server, Buffer.alloc(8), 0, 8)).toBe(0);
    expect(epollFor(server, READABLE | WRITABLE, 0)).toBe(READABLE | WRITABLE);
  });

  it('HANGUP comes once both directions are shut: the peer closed and we shut down writing', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    fds.close(client);
    expect(epollFor(server, READABLE)).toBe(READABLE);
    native.shutdown(server, constants.SHUT_WR);
    expect(epollFor(server, READABLE, 0)).toBe(READABLE | HANGUP);
    // Writable too: a send() would not block, it would fail at once (EPIPE).
    expect(epollFor(server, READABLE | WRITABLE, 0)).toBe(READABLE | WRITABLE | HANGUP);
  });

  it('an RST (the peer closed with SO_LINGER 0) is READABLE | ERROR | HANGUP; recv() takes the error, HANGUP stays', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.setsockopt(client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(client);
    expect(epollFor(server, READABLE)).toBe(READABLE | ERROR | HANGUP);
    expect(() => native.recv(server, Buffer.alloc(8), 0, 8)).toThrow(
      expect.objectContaining({ code: 'ECONNRESET' }),
    );
    expect(epollFor(server, READABLE, 0)).toBe(READABLE | HANGUP);
  });

  it('ERROR and HANGUP are reported even for an fd registered with mask 0', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.setsockopt(client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(client);
    expect(epollFor(server, 0)).toBe(ERROR | HANGUP);
  });
});

describe('writing', () => {
  it('a connected socket is writable while its send buffer has room', () => {
    const { client } = connectPair(fds, listenOn(fds));
    expect(epollFor(client, WRITABLE, 0)).toBe(WRITABLE);
  });

  it('a socket is not writable once a peer that never reads has let the buffers fill', () => {
    const { client } = smallBufferConnection(fds);
    expect(sendUntilFull(client).at(-1)).toBe(-constants.EAGAIN);
    expect(epollFor(client, WRITABLE, 0)).toBe(0);
  });

  it('a full socket turns writable again once the peer reads', ({ onTestFinished }) => {
    const { client, server } = smallBufferConnection(fds);
    expect(sendUntilFull(client).at(-1)).toBe(-constants.EAGAIN);
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    epoller.ctl(EPOLL_CTL_ADD, client, WRITABLE);
    expect(drainUntilWritable(epoller, client, server)).toBe(true);
    expect(native.send(client, Buffer.from('more'), 0, 4)).toBe(4);
  });
});

describe('the timeout', () => {
  it('timeout 0 polls: wait() returns at once with nothing ready', ({ onTestFinished }) => {
    const { server } = connectPair(fds, listenOn(fds));
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    const start = performance.now();
    expect(epoller.wait(0, new Int32Array(2))).toBe(0);
    expect(performance.now() - start).toBeLessThan(SHORT_TIMEOUT_FLOOR_MS);
  });

  it('a timeout elapses when nothing becomes ready (a 50 ms wait takes at least ~45 ms)', ({
    onTestFinished,
  }) => {
    const { server } = connectPair(fds, listenOn(fds));
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    const start = performance.now();
    expect(epoller.wait(SHORT_TIMEOUT_MS, new Int32Array(2))).toBe(0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT_TIMEOUT_FLOOR_MS);
  });

  it('timeout -1 blocks until an fd is ready: here, data another process sends ~100 ms later', async ({
    onTestFinished,
  }) => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    // Before the child exists: its delay cannot have started earlier.
    const start = performance.now();
    const sender = inAMoment('printf wake >&3', client);
    try {
      fds.close(client); // the sender holds the last copy
      const ready = new Int32Array(2);
      expect(epoller.wait(-1, ready)).toBe(1);
      expect(performance.now() - start).toBeGreaterThanOrEqual(LATER_FLOOR_MS);
      expect([...ready]).toEqual([server, READABLE]);
      expect(receive(server, 4).toString()).toBe('wake');
    } finally {
      await stop(sender);
    }
  });

  it('a signal during a blocking wait() ends it with -EINTR; the JS handler runs once Node has the thread again', async ({
    onTestFinished,
  }) => {
    const { client, server } = connectPair(fds, listenOn(fds));
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    const signalled = once(process, 'SIGUSR2');
    // exec: the sleep holding fd 3 is the child itself, so stop() ends it.
    // Before the child exists: its delay cannot have started earlier.
    const start = performance.now();
    const signaller = inAMoment(`kill -USR2 ${process.pid}; exec sleep 10`, client);
    try {
      fds.close(client); // if the signal came before the wait, the signaller's exit would end it
      expect(epoller.wait(-1, new Int32Array(2))).toBe(-constants.EINTR);
      expect(performance.now() - start).toBeGreaterThanOrEqual(LATER_FLOOR_MS);
      await signalled;
    } finally {
      await stop(signaller);
    }
  });
});

describe('the interest list', () => {
  it('EPOLL_CTL_MOD replaces an fd\'s interest and EPOLL_CTL_DEL removes it, from the next wait() on', ({
    onTestFinished,
  }) => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('x'), 0, 1);
    expect(epollFor(server, READABLE)).toBe(READABLE);

    const epoller = epollerForThisTest(onTestFinished);
    const ready = new Int32Array(2);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE | WRITABLE);
    expect(epoller.wait(0, ready)).toBe(1);
    expect([...ready]).toEqual([server, READABLE | WRITABLE]);
    epoller.ctl(EPOLL_CTL_MOD, server, WRITABLE);
    expect(epoller.wait(0, ready)).toBe(1);
    expect([...ready]).toEqual([server, WRITABLE]);
    epoller.ctl(EPOLL_CTL_DEL, server, 0);
    expect(epoller.wait(0, ready)).toBe(0);
  });

  it('wait() writes no more pairs than out holds; level-triggered, the rest stay ready', ({
    onTestFinished,
  }) => {
    const first = connectPair(fds, listenOn(fds)).client;
    const second = connectPair(fds, listenOn(fds)).client;
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, first, WRITABLE);
    epoller.ctl(EPOLL_CTL_ADD, second, WRITABLE);

    const one = new Int32Array(2);
    expect(epoller.wait(0, one)).toBe(1);
    const [reported] = one;
    expect([first, second]).toContain(reported);
    // A bigger out array than before: both are reported, the one already seen among them.
    const both = new Int32Array(4);
    expect(epoller.wait(0, both)).toBe(2);
    const byNumber = (a: number, b: number) => a - b;
    expect([both[0], both[2]].sort(byNumber)).toEqual([first, second].sort(byNumber));
    expect([both[1], both[3]]).toEqual([WRITABLE, WRITABLE]);
  });

  it('an fd closed while registered drops out without a word (poll() would say INVALID)', ({
    onTestFinished,
  }) => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('x'), 0, 1);
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, server, READABLE);
    expect(epoller.wait(WAIT_LIMIT_MS, new Int32Array(2))).toBe(1);
    fds.close(server); // the last open copy: the kernel takes it out of the interest list
    expect(epoller.wait(0, new Int32Array(2))).toBe(0);
    expect(() => epoller.ctl(EPOLL_CTL_DEL, server, 0)).toThrow(
      nodeSystemError('EBADF', 'epoll_ctl'),
    );
  });

  it('fds above FD_SETSIZE work: no 1024 limit', (context) => {
    const limit = openFdLimit();
    if (limit < FDS_NEEDED_ABOVE_SETSIZE) {
      context.skip(`the open-fd limit (ulimit -n) is ${limit}, below ${FDS_NEEDED_ABOVE_SETSIZE}`);
    }
    const opened = openDevNullUntil(FD_SETSIZE, FDS_NEEDED_ABOVE_SETSIZE);
    try {
      expect(opened.at(-1)).toBeGreaterThanOrEqual(FD_SETSIZE);
      // Every fd from here on is above FD_SETSIZE, so epoll watches the handshake too.
      const { client, server } = connectPair(fds, listenOn(fds), epollFor);
      expect(Math.min(client, server)).toBeGreaterThan(FD_SETSIZE);
      native.send(client, Buffer.from('high'), 0, 4);
      expect(epollFor(server, READABLE)).toBe(READABLE);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  });
});

describe('what epoll_ctl() refuses, as Node-shaped errors', () => {
  it('EPOLL_CTL_ADD of an fd already in the list: EEXIST', ({ onTestFinished }) => {
    const listener = listenOn(fds);
    const epoller = epollerForThisTest(onTestFinished);
    epoller.ctl(EPOLL_CTL_ADD, listener.fd, READABLE);
    expect(() => epoller.ctl(EPOLL_CTL_ADD, listener.fd, WRITABLE)).toThrow(
      nodeSystemError('EEXIST', 'epoll_ctl'),
    );
  });

  it('EPOLL_CTL_MOD and EPOLL_CTL_DEL of an fd not in the list: ENOENT', ({ onTestFinished }) => {
    const listener = listenOn(fds);
    const epoller = epollerForThisTest(onTestFinished);
    expect(() => epoller.ctl(EPOLL_CTL_MOD, listener.fd, READABLE)).toThrow(
      nodeSystemError('ENOENT', 'epoll_ctl'),
    );
    expect(() => epoller.ctl(EPOLL_CTL_DEL, listener.fd, 0)).toThrow(
      nodeSystemError('ENOENT', 'epoll_ctl'),
    );
  });

  it('EPOLL_CTL_ADD of a regular file (always ready, so epoll will not watch it): EPERM', ({
    onTestFinished,
  }) => {
    const file = fds.track(openSync(fileURLToPath(import.meta.url), 'r'));
    const epoller = epollerForThisTest(onTestFinished);
    expect(() => epoller.ctl(EPOLL_CTL_ADD, file, READABLE)).toThrow(
      nodeSystemError('EPERM', 'epoll_ctl'),
    );
  });

  it('EPOLL_CTL_ADD of an fd that is not open: EBADF', ({ onTestFinished }) => {
    // The Epoller first: made after the close, its fd would reuse the number (EINVAL, itself).
    const epoller = epollerForThisTest(onTestFinished);
    const fd = tcpSocket(fds);
    fds.close(fd);
    expect(() => epoller.ctl(EPOLL_CTL_ADD, fd, READABLE)).toThrow(
      nodeSystemError('EBADF', 'epoll_ctl'),
    );
  });
});

describe('the epoll fd', () => {
  it('is opened close-on-exec, so children never inherit it', ({ onTestFinished }) => {
    const epoller = epollerForThisTest(onTestFinished);
    const fdinfo = readFileSync(`/proc/self/fdinfo/${epoller.fd}`, 'utf8');
    const flags = /^flags:\s+([0-7]+)$/m.exec(fdinfo);
    expect(Number.parseInt(flags![1], 8) & O_CLOEXEC).toBe(O_CLOEXEC);
  });

  it('close() closes it once: fd turns -1, a second close() does nothing, ctl() and wait() throw ERR_EPOLL_CLOSED', () => {
    const listener = listenOn(fds);
    const epoller = new native.Epoller();
    const before = openFdCount();
    epoller.close();
    expect(openFdCount()).toBe(before - 1);
    expect(epoller.fd).toBe(-1);
    epoller.close();
    expect(openFdCount()).toBe(before - 1);

    const closed = expect.objectContaining({ name: 'Error', code: 'ERR_EPOLL_CLOSED' });
    expect(() => epoller.ctl(EPOLL_CTL_ADD, listener.fd, READABLE)).toThrow(closed);
    expect(() => epoller.wait(0, new Int32Array(2))).toThrow(closed);
  });

  it(`${MANY_EPOLLERS} Epollers created and closed leave the fd count where it was`, () => {
    const before = openFdCount();
    for (let i = 0; i < MANY_EPOLLERS; i++) new native.Epoller().close();
    expect(openFdCount()).toBe(before);
  });

  it('an Epoller dropped without close() closes its fd when garbage-collected', async () => {
    // gc() is not exposed to tests; this flag makes a fresh context's global gc() available.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = openFdCount();
    for (let i = 0; i < DROPPED_EPOLLERS; i++) new native.Epoller();
    expect(openFdCount()).toBe(before + DROPPED_EPOLLERS);
    // Node runs addon finalizers after the collection, from its own loop: yield between rounds.
    for (let round = 0; round < MAX_GC_ROUNDS && openFdCount() !== before; round++) {
      gc();
      await new Promise(setImmediate);
    }
    expect(openFdCount()).toBe(before);
  });
});

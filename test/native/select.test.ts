// select() through the addon's Selector: what puts an fd in the read, write and exception sets.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  constants,
  EXCEPTION,
  FD_SETSIZE,
  native,
  READABLE,
  WRITABLE,
} from '../../src/binding/native.js';
import {
  CHUNK_BYTES,
  drainUntilWritable,
  sendUntilFull,
  smallBufferConnection,
} from '../helpers/buffers.js';
import {
  devNullFds,
  FDS_NEEDED_ABOVE_SETSIZE,
  openDevNullUntil,
  openFdLimit,
} from '../helpers/fds.js';
import {
  connectPair,
  listenOn,
  trackFdsOfThisFile,
  receive,
  WAIT_LIMIT_MS,
  waitFor,
} from '../helpers/sockets.js';
import { SHORT_TIMEOUT_FLOOR_MS, SHORT_TIMEOUT_MS } from '../helpers/waits.js';

const fds = trackFdsOfThisFile();

describe('the read set', () => {
  it('a listening socket becomes readable when a client connects; accept() then returns it', () => {
    const listener = listenOn(fds);
    expect(waitFor(listener.fd, READABLE, 0)).toBe(0);

    const client = fds.track(native.socket(constants.AF_INET, constants.SOCK_STREAM));
    native.connect(client, '127.0.0.1', listener.port);
    expect(waitFor(listener.fd, READABLE)).toBe(READABLE);

    const accepted = native.accept(listener.fd);
    expect(accepted).not.toBeNull();
    fds.track(accepted!.fd);
    expect(accepted).toEqual({
      fd: expect.any(Number),
      address: '127.0.0.1',
      port: native.getsockname(client).port,
      family: 'IPv4',
    });
  });

  it('accept() returns null when no connection is pending (not an exception)', () => {
    const listener = listenOn(fds);
    expect(native.accept(listener.fd)).toBeNull();
  });

  it('a connected socket is not readable while nothing has arrived, and recv() returns -EAGAIN', () => {
    const { server } = connectPair(fds, listenOn(fds));
    expect(waitFor(server, READABLE, 0)).toBe(0);
    expect(native.recv(server, Buffer.alloc(8), 0, 8)).toBe(-constants.EAGAIN);
  });

  it('a connected socket becomes readable when data arrives', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('ping'), 0, 4);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(receive(server, 4).toString()).toBe('ping');
  });

  it('a connected socket becomes readable when the peer closes, and recv() then returns 0 (EOF)', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    fds.close(client);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(native.recv(server, Buffer.alloc(8), 0, 8)).toBe(0);
    // EOF is a state, not an event: the socket stays readable and recv() keeps returning 0.
    expect(waitFor(server, READABLE, 0)).toBe(READABLE);
    expect(native.recv(server, Buffer.alloc(8), 0, 8)).toBe(0);
  });
});

describe('the write set', () => {
  it('a connected socket is writable while its send buffer has room', () => {
    const { client } = connectPair(fds, listenOn(fds));
    expect(waitFor(client, WRITABLE, 0)).toBe(WRITABLE);
  });

  it('a socket leaves the write set when a peer that never reads lets the buffers fill: send() writes part, then returns -EAGAIN', () => {
    const { client } = smallBufferConnection(fds);
    const results = sendUntilFull(client);

    // The first send takes only what fits: a partial write, reported as a byte count.
    expect(results[0]).toBeGreaterThan(0);
    expect(results[0]).toBeLessThan(CHUNK_BYTES);
    // Once nothing fits, send() returns -EAGAIN: a return value, not an exception.
    expect(results.at(-1)).toBe(-constants.EAGAIN);
    expect(waitFor(client, WRITABLE, 0)).toBe(0);
  });

  it('a full socket turns writable again once the peer reads', () => {
    const { client, server } = smallBufferConnection(fds);
    expect(sendUntilFull(client).at(-1)).toBe(-constants.EAGAIN);

    // One loop round per wait: drain the server when readable, stop when the client is writable.
    const selector = new native.Selector();
    selector.add(server, READABLE);
    selector.add(client, WRITABLE);
    expect(drainUntilWritable(selector, client, server)).toBe(true);
    expect(native.send(client, Buffer.from('more'), 0, 4)).toBe(4);
  });
});

describe('the timeout', () => {
  it('timeout 0 polls: wait() returns at once with nothing ready', () => {
    const { server } = connectPair(fds, listenOn(fds));
    const selector = new native.Selector();
    selector.add(server, READABLE);
    expect(selector.wait(0, new Int32Array(2))).toBe(0);
  });

  it('a timeout elapses when nothing becomes ready (a 50 ms wait takes at least ~45 ms)', () => {
    const { server } = connectPair(fds, listenOn(fds));
    const selector = new native.Selector();
    selector.add(server, READABLE);
    const start = performance.now();
    expect(selector.wait(SHORT_TIMEOUT_MS, new Int32Array(2))).toBe(0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT_TIMEOUT_FLOOR_MS);
  });

  it('timeout -1 waits with no time limit until an fd is ready', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('wake'), 0, 4);
    const selector = new native.Selector();
    selector.add(server, READABLE);
    const ready = new Int32Array(2);
    expect(selector.wait(-1, ready)).toBe(1);
    expect([...ready]).toEqual([server, READABLE]);
  });
});

describe('the exception set', () => {
  it('a connection carrying ordinary data never appears in the exception set', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('plain'), 0, 5);
    expect(waitFor(server, READABLE)).toBe(READABLE);
    expect(waitFor(server, READABLE | WRITABLE | EXCEPTION, 0)).toBe(READABLE | WRITABLE);
  });

  // Node cannot send TCP urgent data (MSG_OOB), so a perl child process sends it.
  const urgentSender =
    'my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die $!;' +
    'send($s, "!", MSG_OOB) or die $!;';
  const perlArgs = ['-MIO::Socket::INET', '-MSocket=MSG_OOB', '-e'];
  const perlCanSendUrgent = spawnSync('perl', [...perlArgs, '1']).status === 0;

  it('TCP urgent data (MSG_OOB) is what puts a socket in the exception set', (context) => {
    if (!perlCanSendUrgent) context.skip('needs perl with IO::Socket::INET to send MSG_OOB');
    const listener = listenOn(fds);
    const sender = spawnSync('perl', [...perlArgs, urgentSender, String(listener.port)], {
      timeout: WAIT_LIMIT_MS,
    });
    expect(sender.status).toBe(0);

    expect(waitFor(listener.fd, READABLE)).toBe(READABLE);
    const server = fds.track(native.accept(listener.fd)!.fd);
    expect(waitFor(server, EXCEPTION)).toBe(EXCEPTION);
  });
});

describe('the Selector', () => {
  it('maxFd follows add() and remove(): select() scans fds 0..maxFd', () => {
    const [low, high] = devNullFds(fds, 2);
    const selector = new native.Selector();
    expect(selector.maxFd).toBe(-1);
    selector.add(low, READABLE);
    expect(selector.maxFd).toBe(low);
    selector.add(high, WRITABLE);
    expect(selector.maxFd).toBe(high);
    selector.remove(high, READABLE); // high was never watched for reading: nothing changes
    expect(selector.maxFd).toBe(high);
    selector.remove(high, WRITABLE);
    expect(selector.maxFd).toBe(low);
    selector.add(high, 0); // an empty mask watches nothing
    expect(selector.maxFd).toBe(low);
    selector.remove(low, READABLE | WRITABLE | EXCEPTION);
    expect(selector.maxFd).toBe(-1);
  });

  it('an fd ready in several sets is reported once, its events or-ed into one mask', () => {
    const { client, server } = connectPair(fds, listenOn(fds));
    native.send(client, Buffer.from('x'), 0, 1);
    expect(waitFor(server, READABLE)).toBe(READABLE);

    const selector = new native.Selector();
    selector.add(server, READABLE | WRITABLE);
    const ready = new Int32Array(4);
    expect(selector.wait(0, ready)).toBe(1);
    expect([...ready.subarray(0, 2)]).toEqual([server, READABLE | WRITABLE]);
  });

  it('wait() writes (fd, mask) pairs in fd order, no more than out holds; the rest stay ready', () => {
    const [low, high] = devNullFds(fds, 2);
    const selector = new native.Selector();
    selector.add(high, READABLE); // /dev/null is always readable
    selector.add(low, READABLE);

    const both = new Int32Array(4);
    expect(selector.wait(0, both)).toBe(2);
    expect([...both]).toEqual([low, READABLE, high, READABLE]);

    // Room for one pair: the lowest fd is reported; select() is level-triggered, so high
    // is still ready at the next wait() and nothing is lost.
    const one = new Int32Array(2);
    expect(selector.wait(0, one)).toBe(1);
    expect([...one]).toEqual([low, READABLE]);
    selector.remove(low, READABLE);
    expect(selector.wait(0, one)).toBe(1);
    expect([...one]).toEqual([high, READABLE]);
  });

  it('remove() takes a ready fd out of the next wait()', () => {
    const devNull = fds.track(openSync('/dev/null', 'r'));
    const selector = new native.Selector();
    selector.add(devNull, READABLE);
    expect(selector.wait(0, new Int32Array(2))).toBe(1);
    selector.remove(devNull, READABLE);
    expect(selector.wait(0, new Int32Array(2))).toBe(0);
  });
});

describe('FD_SETSIZE', () => {
  it('is 1024 on Linux: select() can watch fds 0..1023 only', () => {
    expect(FD_SETSIZE).toBe(1024);
  });

  it('an fd >= FD_SETSIZE is refused with ERR_FD_SETSIZE, not written past the fd_set', (context) => {
    const limit = openFdLimit();
    if (limit < FDS_NEEDED_ABOVE_SETSIZE) {
      context.skip(`the open-fd limit (ulimit -n) is ${limit}, below ${FDS_NEEDED_ABOVE_SETSIZE}`);
    }
    const opened = openDevNullUntil(FD_SETSIZE, FDS_NEEDED_ABOVE_SETSIZE);
    try {
      const tooHigh = opened.at(-1)!;
      expect(tooHigh).toBeGreaterThanOrEqual(FD_SETSIZE);
      const selector = new native.Selector();
      const refusal = expect.objectContaining({ name: 'RangeError', code: 'ERR_FD_SETSIZE' });
      expect(() => selector.add(tooHigh, READABLE)).toThrow(refusal);
      expect(() => selector.remove(tooHigh, READABLE)).toThrow(refusal);
      expect(selector.maxFd).toBe(-1);

      // The selector still works, for a low fd and for the highest fd an fd_set holds.
      const [lowest] = opened;
      const highest = FD_SETSIZE - 1;
      expect(opened).toContain(highest);
      selector.add(lowest, READABLE);
      selector.add(highest, READABLE);
      expect(selector.maxFd).toBe(highest);
      const ready = new Int32Array(4);
      expect(selector.wait(0, ready)).toBe(2);
      expect([...ready]).toEqual([lowest, READABLE, highest, READABLE]);
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  });
});

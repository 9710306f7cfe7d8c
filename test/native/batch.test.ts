// recvMany() and sendMany(): a round's reads and sends in one crossing, each socket's outcome
// reported as a number (bytes, 0 at EOF, -EAGAIN, -errno), never thrown.
import { describe, expect, it } from 'vitest';
import { constants, native } from '../../src/binding/native.js';
import { connectPair, listenOn, receive, trackFdsOfThisFile } from '../helpers/sockets.js';

const fds = trackFdsOfThisFile();
const SLOT = 16;
const ECONNRESET = 104;

describe('recvMany', () => {
  it('reads every socket into its own slot: bytes, -EAGAIN when there is nothing, 0 at EOF', () => {
    const listener = listenOn(fds);
    const [a, b, c] = [connectPair(fds, listener), connectPair(fds, listener), connectPair(fds, listener)];
    native.send(a!.client, Buffer.from('hello'), 0, 5);
    native.shutdown(c!.client, constants.SHUT_WR);
    const buffer = Buffer.alloc(3 * SLOT);
    const results = new Int32Array(3);
    native.recvMany(Int32Array.of(a!.server, b!.server, c!.server), 3, buffer, SLOT, results);
    expect([...results]).toEqual([5, -constants.EAGAIN, 0]);
    expect(buffer.toString('latin1', 0, 5)).toBe('hello');
  });

  it('a reset socket reports -ECONNRESET and the others are still read', () => {
    const listener = listenOn(fds);
    const [a, b] = [connectPair(fds, listener), connectPair(fds, listener)];
    native.setsockopt(a!.client, constants.SOL_SOCKET, constants.SO_LINGER, 0);
    fds.close(a!.client);
    native.send(b!.client, Buffer.from('x'), 0, 1);
    const results = new Int32Array(2);
    native.recvMany(Int32Array.of(a!.server, b!.server), 2, Buffer.alloc(2 * SLOT), SLOT, results);
    expect([...results]).toEqual([-ECONNRESET, 1]);
  });

  it('refuses a buffer smaller than count slots, before any recv()', () => {
    expect(() => native.recvMany(Int32Array.of(0, 0), 2, Buffer.alloc(SLOT), SLOT, new Int32Array(2))).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  });
});

describe('sendMany', () => {
  it('sends each buffer range to its socket and reports the bytes taken', () => {
    const listener = listenOn(fds);
    const [a, b] = [connectPair(fds, listener), connectPair(fds, listener)];
    const results = new Int32Array(2);
    const buffers = [Buffer.from('..one..'), Buffer.from('two')];
    native.sendMany(Int32Array.of(a!.server, b!.server), 2, buffers, Int32Array.of(2, 0), Int32Array.of(3, 3), results);
    expect([...results]).toEqual([3, 3]);
    expect(receive(a!.client, 3).toString()).toBe('one');
    expect(receive(b!.client, 3).toString()).toBe('two');
  });

  it('a failed send is -errno (EPIPE after the peer is gone), never SIGPIPE; the rest are sent', () => {
    const listener = listenOn(fds);
    const [a, b] = [connectPair(fds, listener), connectPair(fds, listener)];
    native.shutdown(a!.server, constants.SHUT_WR);
    const results = new Int32Array(2);
    native.sendMany(Int32Array.of(a!.server, b!.server), 2, [Buffer.from('x'), Buffer.from('y')], Int32Array.of(0, 0), Int32Array.of(1, 1), results);
    expect(results[0]).toBe(-32);
    expect(results[1]).toBe(1);
  });

  it('refuses a range outside its buffer and a non-buffer element before any send()', () => {
    const listener = listenOn(fds);
    const { server, client } = connectPair(fds, listener);
    const results = new Int32Array(1);
    expect(() => native.sendMany(Int32Array.of(server), 1, [Buffer.from('ab')], Int32Array.of(1), Int32Array.of(2), results)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => native.sendMany(Int32Array.of(server), 1, ['ab' as unknown as Buffer], Int32Array.of(0), Int32Array.of(1), results)).toThrow(TypeError);
    // Nothing reached the peer.
    expect(native.recv(client, Buffer.alloc(4), 0, 4)).toBe(-constants.EAGAIN);
  });

  it('reads every element before taking a pointer: a getter that swaps a buffer cannot make it send freed memory', () => {
    const listener = listenOn(fds);
    const { server, client } = connectPair(fds, listener);
    // Its own ArrayBuffer (not a slice of Buffer's shared pool), so detaching it touches nothing else.
    const first = Buffer.alloc(4, 's');
    const buffers: Buffer[] = [first, Buffer.from('!')];
    // A hostile array: reading element 1 detaches element 0's memory.
    Object.defineProperty(buffers, 1, { get: () => (structuredClone(first.buffer, { transfer: [first.buffer] }), Buffer.from('!')) });
    const results = new Int32Array(2);
    expect(() => native.sendMany(Int32Array.of(server, server), 2, buffers, Int32Array.of(0, 0), Int32Array.of(4, 1), results)).toThrow();
    expect(native.recv(client, Buffer.alloc(8), 0, 8)).toBe(-constants.EAGAIN);
  });
});

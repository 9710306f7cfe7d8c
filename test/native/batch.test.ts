// recvMany() and sendRanges(): a round's reads and sends in one crossing, each socket's outcome
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

describe('sendRanges', () => {
  it('gathers each socket\'s ranges of one buffer into one sendmsg() and reports the bytes taken', () => {
    const listener = listenOn(fds);
    const [a, b] = [connectPair(fds, listener), connectPair(fds, listener)];
    const buffer = Buffer.from('hello world, bye');
    const results = new Int32Array(2);
    // a: "hello" + " bye"; b: "world" (a range can be shared: here ' ' twice).
    native.sendRanges(Int32Array.of(a!.server, b!.server), 2, buffer, Int32Array.of(0, 2, 3), Int32Array.of(0, 12, 6), Int32Array.of(5, 4, 5), results);
    expect([...results]).toEqual([9, 5]);
    expect(receive(a!.client, 9).toString()).toBe('hello bye');
    expect(receive(b!.client, 5).toString()).toBe('world');
  });

  it('a failed send is -errno (EPIPE after the peer is gone), never SIGPIPE; the rest are sent', () => {
    const listener = listenOn(fds);
    const [a, b] = [connectPair(fds, listener), connectPair(fds, listener)];
    native.shutdown(a!.server, constants.SHUT_WR);
    const results = new Int32Array(2);
    native.sendRanges(Int32Array.of(a!.server, b!.server), 2, Buffer.from('xy'), Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Int32Array.of(1, 1), results);
    expect(results[0]).toBe(-32);
    expect(results[1]).toBe(1);
    expect(receive(b!.client, 1).toString()).toBe('y');
  });

  it('refuses a range outside the buffer, or starts that do not index the ranges, before any send()', () => {
    const listener = listenOn(fds);
    const { server, client } = connectPair(fds, listener);
    const results = new Int32Array(2);
    const two = Int32Array.of(server, server);
    const ab = Buffer.from('ab');
    // The second socket's range runs past the end: the first one's is not sent either.
    expect(() => native.sendRanges(two, 2, ab, Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Int32Array.of(1, 2), results)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => native.sendRanges(two, 2, ab, Int32Array.of(0, 2, 1), Int32Array.of(0, 1), Int32Array.of(1, 1), results)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => native.sendRanges(two, 2, ab, Int32Array.of(0, 1, 3), Int32Array.of(0, 1), Int32Array.of(1, 1), results)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => native.sendRanges(two, 2, 'ab' as unknown as Buffer, Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Int32Array.of(1, 1), results)).toThrow(TypeError);
    // Nothing reached the peer.
    expect(native.recv(client, Buffer.alloc(4), 0, 4)).toBe(-constants.EAGAIN);
  });

  it('more ranges than one sendmsg() takes (IOV_MAX) is a partial send, as a short write is', () => {
    const listener = listenOn(fds);
    const { server, client } = connectPair(fds, listener);
    const ranges = 1500;
    const buffer = Buffer.alloc(ranges, 'z');
    const offsets = Int32Array.from({ length: ranges }, (_, i) => i);
    const lengths = new Int32Array(ranges).fill(1);
    const results = new Int32Array(1);
    native.sendRanges(Int32Array.of(server), 1, buffer, Int32Array.of(0, ranges), offsets, lengths, results);
    expect(results[0]).toBe(1024);
    expect(receive(client, 1024).length).toBe(1024);
  });
});

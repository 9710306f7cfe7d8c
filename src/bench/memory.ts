// Memory per connection: a server's RSS with MEMORY_CONNECTIONS idle clients minus its RSS with none.
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ServerProcess } from '../process/server-process.js';
import { serverCommand } from './run-server.js';
import { MEMORY_CONNECTIONS, type BenchEngine } from './scenarios.js';

/** Connections being opened at once. */
const CONNECT_CONCURRENCY = 100;
/** Quiet time before each RSS reading, so the server has finished what it was doing. */
const SETTLE_MS = 300;
/** Longest one connection may take to connect and get its line back. */
const CONNECT_LIMIT_MS = 10_000;
/** What each client sends once: the server must decode and echo it, so its buffers exist. */
const PING = 'ping\n';

/** One memory measurement of one server. */
export interface MemoryRun {
  engine: BenchEngine;
  run: number;
  asked: number;
  /** Connections the server accepted and served (its echo came back). */
  held: number;
  /** Connections it refused ("! server full") or dropped. */
  refused: number;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  bytesPerConnection: number | null;
  failure: string | null;
}

/** Starts a fresh echo server, reads its RSS, opens the connections, reads it again. */
export async function measureMemory(engine: BenchEngine, run: number): Promise<MemoryRun> {
  const result: MemoryRun = {
    engine, run, asked: MEMORY_CONNECTIONS, held: 0, refused: 0,
    rssBeforeBytes: null, rssAfterBytes: null, bytesPerConnection: null, failure: null,
  };
  let server: ServerProcess | null = null;
  const sockets: Socket[] = [];
  try {
    const { command, args } = serverCommand(engine, 'echo');
    server = await ServerProcess.start(command, args);
    await delay(SETTLE_MS);
    result.rssBeforeBytes = server.memory()?.rssBytes ?? null;
    for (let opened = 0; opened < MEMORY_CONNECTIONS; opened += CONNECT_CONCURRENCY) {
      const batch = Math.min(CONNECT_CONCURRENCY, MEMORY_CONNECTIONS - opened);
      const host = server.host;
      const port = server.port;
      const outcomes = await Promise.all(Array.from({ length: batch }, () => openServed(host, port, sockets)));
      for (const served of outcomes) served ? result.held++ : result.refused++;
    }
    await delay(SETTLE_MS);
    result.rssAfterBytes = server.memory()?.rssBytes ?? null;
    if (result.rssBeforeBytes !== null && result.rssAfterBytes !== null && result.held > 0) {
      result.bytesPerConnection = Math.round((result.rssAfterBytes - result.rssBeforeBytes) / result.held);
    }
  } catch (error) {
    result.failure = (error as Error).message;
  } finally {
    for (const socket of sockets) socket.destroy();
    await server?.stop();
  }
  return result;
}

/** Opens one connection and pings it: true once the echo is back, false if refused or closed. */
function openServed(host: string, port: number, sockets: Socket[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    sockets.push(socket);
    let received = '';
    const timer = setTimeout(() => reject(new Error(`no echo within ${CONNECT_LIMIT_MS} ms`)), CONNECT_LIMIT_MS);
    const settle = (served: boolean): void => {
      clearTimeout(timer);
      resolve(served);
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(PING));
    socket.on('data', (text: string) => {
      received += text;
      if (received.includes('\n')) settle(received === PING);
    });
    socket.once('error', () => settle(false));
    socket.once('close', () => settle(false));
  });
}

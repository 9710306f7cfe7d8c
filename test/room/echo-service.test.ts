// Echo mode without sockets: every line comes back as itself, nothing else is sent but errors.
import { describe, expect, it } from 'vitest';
import { ERR_INVALID_UTF8, ERR_LINE_TOO_LONG } from '../../src/framing/line-decoder.js';
import { EchoService } from '../../src/room/echo-service.js';
import { connect } from './memory-peer.js';

/** Not the default, so the too-long answer is seen to quote the service's own limit. */
const MAX_LINE_BYTES = 512;

describe('EchoService', () => {
  it('greets no one and echoes each line to its sender only, exactly as it came', () => {
    const service = new EchoService({ maxLineBytes: MAX_LINE_BYTES });
    const a = connect(service);
    const b = connect(service);
    expect(service.mode).toBe('echo');
    expect(a.peer.frames).toEqual([]);
    // Commands, server-looking lines and control characters mean nothing here: echoed as they came.
    const lines = ['hello', '', '/nick alice', '/quit', '* server shutting down', 'bell\x07 esc\x1b[2J', 'héllo ✓ 😀'];
    for (const line of lines) a.session.line(line);
    expect(a.peer.frames.map((frame) => frame.toString('utf8'))).toEqual(lines.map((line) => `${line}\n`));
    expect(b.peer.frames).toEqual([]);
    expect(a.peer.ended).toBe(false);
  });

  it('takes its lines as bytes and passes them on as they are (the transport never decodes them)', () => {
    const service = new EchoService({ maxLineBytes: MAX_LINE_BYTES });
    expect(service.linesAsBytes).toBe(true);
    const a = connect(service);
    const received = Buffer.from('..héllo 😀..');
    a.session.lineBytes!(received, 2, received.length - 2);
    received.fill(0x21);
    expect(a.peer.take()).toEqual(['héllo 😀']);
  });

  it('answers a rejected line with the protocol\'s error lines', () => {
    const a = connect(new EchoService({ maxLineBytes: MAX_LINE_BYTES }));
    a.session.reject(ERR_LINE_TOO_LONG);
    a.session.reject(ERR_INVALID_UTF8);
    expect(a.peer.take()).toEqual([`! line too long (max ${MAX_LINE_BYTES} bytes)`, '! invalid UTF-8, line dropped']);
  });

  it('sends nothing when a session closes or the server shuts down', () => {
    const service = new EchoService({ maxLineBytes: MAX_LINE_BYTES });
    const a = connect(service);
    const b = connect(service);
    a.session.closed('closed');
    service.shutdown();
    expect([a.peer.frames, b.peer.frames]).toEqual([[], []]);
    expect([a.peer.ended, b.peer.ended]).toEqual([false, false]);
  });
});

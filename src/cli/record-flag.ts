// `--record FILE`, shared by serve and connect: opens the recording, and closes it however the
// process ends (a second Ctrl-C exits at once: the file still gets its closing "]").
import { packageVersion } from '../package.js';
import { TraceRecorder } from '../record/recorder.js';
import type { Engine } from '../transport/server.js';
import { UsageError } from './options.js';

/** The recorder for --record FILE, or null without the flag. */
export function openRecording(path: string | undefined, command: 'serve' | 'connect', engine: Engine): TraceRecorder | null {
  if (path === undefined) return null;
  if (path === '') throw new UsageError('--record needs a file name');
  const recorder = new TraceRecorder(path, {
    command,
    engine,
    version: packageVersion(),
    ...(engine === 'libuv' ? { loopName: "libuv's epoll loop (not visible to JavaScript)" } : {}),
  });
  process.once('exit', () => recorder.close());
  return recorder;
}

// The timeline page's static parts: its styles, its layout and its legend. The script
// (page/timeline-page.ts) draws into the canvas and fills the detail panel.

export const PAGE_STYLE = `
:root { --blocked: #b9c6d8; --work: #e8890c; --node: #8e5bd8; --read: #1f9d55; --write: #2f6fd6;
  --end: #d23c3c; --other: #777; --interest: #e9c42a; --ink: #1d2430; --dim: #6b7280; --line: #d9dee6; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
body { display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 12px; padding: 6px 12px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 15px; margin: 0; }
header .file { font-family: ui-monospace, monospace; color: var(--dim); }
#summary { color: var(--dim); }
.toolbar { margin-left: auto; display: flex; gap: 6px; align-items: center; }
.toolbar button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); background: #f6f8fa; border-radius: 4px; cursor: pointer; }
.hint { color: var(--dim); font-size: 12px; }
main { flex: 1; display: flex; min-height: 0; }
#chart { flex: 1; position: relative; min-width: 0; overflow: hidden; }
#canvas { position: absolute; inset: 0; width: 100%; height: 100%; cursor: crosshair; }
#tooltip { position: absolute; pointer-events: none; background: rgba(29,36,48,.93); color: #fff; padding: 4px 8px;
  border-radius: 4px; font: 12px/1.35 ui-monospace, monospace; white-space: pre; display: none; max-width: 640px; overflow: hidden; }
aside { width: 430px; border-left: 1px solid var(--line); overflow-y: auto; padding: 8px 12px; }
aside h2 { font-size: 13px; margin: 6px 0; }
#detail-head { color: var(--dim); margin-bottom: 4px; }
#detail-body { font: 12px/1.45 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
#detail-body .quiet { color: var(--dim); }
#detail-body .quiet::after { content: "   (quiet: --trace leaves it out)"; font-style: italic; }
#detail-body .here { background: #fff3bf; }
.pinned { color: var(--end); font-weight: 600; }
#legend { border-top: 1px solid var(--line); margin-top: 10px; padding-top: 4px; }
#legend p { margin: 4px 0; }
.sw { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; border-radius: 2px; }
.sw.blocked { background: repeating-linear-gradient(135deg, var(--blocked) 0 3px, #dfe6ef 3px 6px); }
.sw.work { background: var(--work); } .sw.node { background: var(--node); }
.sw.read { background: var(--read); } .sw.write { background: var(--write); } .sw.end { background: var(--end); }
.sw.other { background: var(--other); } .sw.interest { background: var(--interest); }
.backend { padding: 4px 6px; border-radius: 4px; margin: 4px 0; }
.backend.current { background: #eef4ff; outline: 1px solid #c9d8f5; }
.backend b { font-family: ui-monospace, monospace; }
#notice { display: none; background: #fff8e1; border: 1px solid #f0d58a; padding: 6px 8px; border-radius: 4px; margin: 6px 0; }
kbd { font: 11px ui-monospace, monospace; border: 1px solid var(--line); border-radius: 3px; padding: 0 3px; }
`;

/** The page's body up to the scripts; fileName is HTML-escaped already. */
export function pageBody(fileName: string): string {
  return `<header>
  <h1>selectchat timeline</h1><span class="file">${fileName}</span><span id="summary"></span>
  <div class="toolbar">
    <span class="hint">wheel: zoom · drag: pan · <kbd>shift</kbd>+wheel: scroll fds · click: pin a round</span>
    <button id="zoom-out" title="zoom out (-)">−</button><button id="zoom-in" title="zoom in (+)">+</button><button id="fit" title="show everything (0)">Fit</button>
  </div>
</header>
<main>
  <div id="chart"><canvas id="canvas"></canvas><div id="tooltip"></div></div>
  <aside>
    <div id="notice"></div>
    <h2>Round detail</h2>
    <div id="detail-head">Hover over a round (or an fd's mark) to read what the loop did in it, in the words of <code>--trace</code>. Click to keep it here.</div>
    <div id="detail-body"></div>
    <section id="legend">
      <h2>How to read it</h2>
      <p>Time runs left to right. The top lane is the <b>loop</b>: one bar per round. Below it, a lane per <b>fd</b>.</p>
      <p><span class="sw blocked"></span><b>blocked</b>: the thread sleeps in the kernel, inside the wait call, using no CPU, until an fd is ready or the timeout ends.
      <span class="sw work"></span><b>work</b>: the loop handles what woke it — accept, recv, send — then timers and the round's output.
      <span class="sw node"></span><b>yield to Node</b>: the loop hands the thread to Node for one turn of its own loop (its timers, signals, promises).</p>
      <p>On an fd's lane: <span class="sw read"></span>▼ ready to read / accept, <span class="sw write"></span>▼ ready to write (what the wait call returned);
      ticks for what the loop did with it: <span class="sw read"></span>accept, recv, data <span class="sw write"></span>send, write
      <span class="sw end"></span>EOF, reset, close, errors <span class="sw other"></span>anything else;
      <span class="sw interest"></span>under the lane: it waited for writable (output queued that the kernel did not take).</p>
      <div class="backend" data-backend="select"><b>select(nfds, read, write, except, timeout)</b>: the loop hands the kernel bit sets of every fd it watches (up to <code>nfds</code>, below FD_SETSIZE = 1024); the kernel checks each one, sleeps until one is ready or the timeout passes, and overwrites the sets with the ready ones. Every call copies and scans all of them: O(highest fd).</div>
      <div class="backend" data-backend="poll"><b>poll(fds, nfds, timeout)</b>: an array of {fd, events}; the kernel fills in <code>revents</code>. No FD_SETSIZE limit, but still every watched fd in every call: O(n).</div>
      <div class="backend" data-backend="epoll"><b>epoll_wait(epfd, events, maxevents, timeout)</b>: the interest list lives in the kernel (changed with <code>epoll_ctl</code>), so a wait passes nothing in and gets back only the ready fds: O(ready).</div>
      <div class="backend" data-backend="libuv"><b>libuv</b> (<code>--engine libuv</code>): Node's own loop runs <code>epoll_wait</code> in C, inside Node; JavaScript never sees its rounds, only the callbacks. So such a recording has connection events but no loop lane (strace shows the waits).</div>
    </section>
  </aside>
</main>`;
}

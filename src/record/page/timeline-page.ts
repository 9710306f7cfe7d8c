// The timeline page's script (compiled on its own, for the browser, and inlined by
// timeline-html.ts after words.js). It decodes the page's data into typed arrays once, then
// draws only what is in view on one canvas: binary searches find the visible rounds and events,
// and when there are more than pixels, each pixel column is drawn once (rounds as the share of
// blocked / work / Node time in it). Kinds are not special: any event with a numeric fd goes on
// its fd's lane, and every text is words(event), exactly as --trace prints it.

/* The data's shape: see src/record/page-data.ts. */
interface PageData {
  v: number;
  info: { command: string; engine: string; version: string } | null;
  file: string;
  t0: number;
  span: number;
  tracks: [number, string][];
  shapes: string[][];
  objects: unknown[];
  events: string;
  eventCount: number;
  eventValues: number;
  rounds: string;
  roundCount: number;
  ready: number[];
  readyNames: string[];
  counters: Record<string, number[]>;
}

interface AnyEvent {
  kind: string;
  [field: string]: unknown;
}

declare const TraceWords: {
  words(event: AnyEvent): string;
  QUIET_KINDS: ReadonlySet<string>;
};

/** What tests and curious readers can see from outside (window.timelineState). */
interface TimelineState {
  ready: boolean;
  loadMs: number;
  rounds: number;
  events: number;
  lanes: number;
  drawnRounds: number;
  drawnEvents: number;
  frames: number;
  lastFrameMs: number;
  view: [number, number];
  error: string | null;
  /** ms since navigation start at the end of each loading step. */
  phases: Record<string, number>;
}

void (async () => {
  const state: TimelineState = {
    ready: false, loadMs: 0, rounds: 0, events: 0, lanes: 0, drawnRounds: 0, drawnEvents: 0, frames: 0, lastFrameMs: 0, view: [0, 0], error: null, phases: {},
  };
  const phase = (name: string): void => void (state.phases[name] = Math.round(performance.now()));
  phase('script');
  (window as unknown as { timelineState: TimelineState }).timelineState = state;

  const TICK = 0.1; // µs per stored time unit
  const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  const data = JSON.parse(byId('timeline-data').textContent ?? '{}') as PageData;
  if (data.v !== 1) throw new Error(`unknown timeline data version ${data.v}`);
  phase('parsed');

  // ---- Decode events ---------------------------------------------------------------------------
  /** The varints of a base64 gzip stream (page-data.ts), all decoded. */
  async function varints(base64: string, count: number): Promise<Float64Array> {
    const text = atob(base64);
    const packed = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) packed[i] = text.charCodeAt(i);
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'));
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    const out = new Float64Array(count);
    let n = 0;
    let at = 0;
    while (at < bytes.length) {
      let v = bytes[at++]!;
      if (v >= 128) {
        v &= 127;
        let scale = 128;
        for (;;) {
          const b = bytes[at++]!;
          v += (b & 127) * scale;
          if (b < 128) break;
          scale *= 128;
        }
      }
      out[n++] = v;
    }
    return n === count ? out : out.subarray(0, n);
  }
  /** A field value back from its tag (page-data.ts's tagged()). */
  function untag(v: number): unknown {
    if (v % 2 === 0) return v / 2;
    if (v % 4 === 3) return -(v + 1) / 4;
    return data.objects[(v - 1) / 4];
  }
  const shapes = data.shapes;
  const fdField = shapes.map((shape) => shape.indexOf('fd') - 1);
  const eventCount = data.eventCount;
  const evTs = new Float64Array(eventCount);
  const evShape = new Int32Array(eventCount);
  /** Where each event's field values begin in values. */
  const evAt = new Int32Array(eventCount + 1);
  const evFd = new Int32Array(eventCount);
  const evRound = new Int32Array(eventCount).fill(-1);
  /** Every event's raw numbers in order: [dt, shape, field values...] per event. */
  const values = await varints(data.events, data.eventValues);
  {
    let t = 0;
    let at = 0;
    for (let i = 0; i < eventCount; i++) {
      t += values[at]!;
      const shape = values[at + 1]!;
      evTs[i] = t * TICK;
      evShape[i] = shape;
      at += 2;
      evAt[i] = at;
      const f = fdField[shape]!;
      const fd = f >= 0 ? values[at + f]! : 1;
      evFd[i] = fd % 2 === 0 ? fd / 2 : -1;
      at += shapes[shape]!.length - 1;
    }
    evAt[eventCount] = at;
  }
  /** The event as the loop reported it. */
  function eventAt(i: number): AnyEvent {
    const shape = shapes[evShape[i]!]!;
    const event: AnyEvent = { kind: shape[0]! };
    for (let k = 1; k < shape.length; k++) event[shape[k]!] = untag(values[evAt[i]! + k - 1]!);
    return event;
  }
  const kindOf = (i: number): string => shapes[evShape[i]!]![0]!;

  phase('events');
  // ---- Decode rounds -------------------------------------------------------------------------
  const roundCount = data.roundCount;
  const rStart = new Float64Array(roundCount);
  const rWoke = new Float64Array(roundCount);
  const rWorkEnd = new Float64Array(roundCount);
  const rNode = new Float64Array(roundCount);
  const rEnd = new Float64Array(roundCount);
  const rFirst = new Int32Array(roundCount);
  const rCount = new Int32Array(roundCount);
  {
    const raw = await varints(data.rounds, roundCount * 7);
    let read = 0;
    const next = (): number => raw[read++]!;
    let start = 0;
    let previousEnd = 0;
    for (let r = 0; r < roundCount; r++) {
      start += next();
      const at = (v: number): number => (v === 0 ? -1 : (start + v - 1) * TICK);
      rStart[r] = start * TICK;
      rWoke[r] = at(next());
      rWorkEnd[r] = at(next());
      rNode[r] = at(next());
      rEnd[r] = at(next());
      rFirst[r] = previousEnd + next();
      rCount[r] = next();
      previousEnd = rFirst[r]! + rCount[r]!;
      for (let i = rFirst[r]!; i < previousEnd; i++) evRound[i] = r;
    }
  }
  phase('rounds');
  // ---- Lanes ---------------------------------------------------------------------------------
  type Category = 'read' | 'write' | 'end' | 'other';
  const CATEGORIES: Category[] = ['read', 'write', 'end', 'other'];
  /** What kind of action an event kind is, by its name (so new kinds fall somewhere sensible). */
  function categoryOf(kind: string): Category {
    const has = (words: string): boolean => new RegExp(`(^|-)(${words})($|-)`).test(kind);
    if (has('eof|end|closed|close|error|reset|refuse|too|slow|stalled|failure|shutdown')) return 'end';
    if (has('recv|data|accept|read|resumed')) return 'read';
    if (has('send|write|paused')) return 'write';
    return 'other';
  }
  interface Lane {
    fd: number;
    name: string;
    /** Event indices per category, in time order. */
    marks: Record<Category, number[]>;
    markTs: Record<Category, Float64Array>;
    /** Ready marks: times, and whether for writing. */
    readyTs: number[];
    readyWrite: number[];
    /** Waiting for writable: [start, end] pairs (µs). */
    bands: number[];
  }
  const names = new Map(data.tracks);
  const lanesByFd = new Map<number, Lane>();
  const laneFor = (fd: number): Lane => {
    let lane = lanesByFd.get(fd);
    if (lane === undefined) {
      const name = names.get(fd) ?? `fd ${fd}`;
      lane = { fd, name, marks: { read: [], write: [], end: [], other: [] }, markTs: {} as Record<Category, Float64Array>, readyTs: [], readyWrite: [], bands: [] };
      lanesByFd.set(fd, lane);
    }
    return lane;
  };
  for (const [fd] of data.tracks) if (fd >= 0) laneFor(fd);
  const categories = shapes.map((shape) => categoryOf(shape[0]!));
  for (let i = 0; i < eventCount; i++) {
    if (evFd[i]! >= 0) laneFor(evFd[i]!).marks[categories[evShape[i]!]!].push(i);
  }
  for (let m = 0; m < data.ready.length; m += 3) {
    const round = data.ready[m]!;
    const lane = laneFor(data.ready[m + 1]!);
    const what = data.readyNames[data.ready[m + 2]!]!;
    lane.readyTs.push(round >= 0 ? rWoke[round]! : 0);
    lane.readyWrite.push(/write|OUT/.test(what) && !/read|IN/.test(what) ? 1 : 0);
  }
  phase('marks');
  // Waiting for writable: the fds in each wait call's write set (select) or asked for OUT (poll),
  // from the call to the wake-up; consecutive rounds merge into one band.
  {
    const open = new Map<number, [number, number]>();
    const writeSets = new Map<number, Set<number>>();
    for (let r = 0; r < roundCount; r++) {
      const first = rFirst[r]!;
      if (rCount[r]! === 0 || kindOf(first) !== 'wait') continue;
      // The call is usually the same object round after round (interned): decode each once.
      const callAt = shapes[evShape[first]!]!.indexOf('call') - 1;
      const tag = callAt >= 0 ? values[evAt[first]! + callAt]! : -1;
      let writing = writeSets.get(tag);
      if (writing === undefined) {
        const call = (callAt >= 0 ? untag(tag) : undefined) as { write?: number[]; fds?: [number, number][] } | undefined;
        writing = new Set<number>(call?.write ?? (call?.fds ?? []).filter(([, ev]) => ev & 2).map(([fd]) => fd));
        writeSets.set(tag, writing);
      }
      const end = rWoke[r]! >= 0 ? rWoke[r]! : rEnd[r]!;
      for (const [fd, band] of open) {
        if (!writing.has(fd)) {
          laneFor(fd).bands.push(band[0], band[1]);
          open.delete(fd);
        }
      }
      for (const fd of writing) {
        const band = open.get(fd);
        if (band) band[1] = end;
        else open.set(fd, [rStart[r]!, end]);
      }
    }
    for (const [fd, band] of open) laneFor(fd).bands.push(band[0], band[1]);
    // write-interest on/off events, where the loop reports them.
    const on = new Map<number, number>();
    for (let i = 0; i < eventCount; i++) {
      if (kindOf(i) !== 'write-interest') continue;
      const event = eventAt(i);
      const fd = event.fd as number;
      if (event.on) on.set(fd, evTs[i]!);
      else if (on.has(fd)) {
        laneFor(fd).bands.push(on.get(fd)!, evTs[i]!);
        on.delete(fd);
      }
    }
    for (const [fd, t] of on) laneFor(fd).bands.push(t, data.span);
  }
  phase('bands');
  const fdLanes = [...lanesByFd.values()].sort((a, b) => a.fd - b.fd);
  for (const lane of fdLanes) for (const c of CATEGORIES) lane.markTs[c] = Float64Array.from(lane.marks[c], (i) => evTs[i]!);
  const loopName = names.get(-1) ?? 'loop';
  const counterNames = Object.keys(data.counters);
  const loopEvents: number[] = [];
  for (let i = 0; i < eventCount; i++) if (evFd[i]! < 0 && evRound[i]! < 0) loopEvents.push(i);

  phase('lanes');
  // ---- Summary, notice, legend -----------------------------------------------------------------
  const backend = (() => {
    for (let i = 0; i < eventCount; i++) if (kindOf(i) === 'wait') return String((eventAt(i).call as { backend?: string }).backend);
    return data.info?.engine === 'libuv' ? 'libuv' : '';
  })();
  const fmtMs = (us: number): string => (us >= 1e6 ? `${(us / 1e6).toFixed(3)} s` : us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(1)} µs`);
  byId('summary').textContent = `${data.info ? `${data.info.command}, ${data.info.engine} engine · ` : ''}${roundCount.toLocaleString('en')} rounds · ` +
    `${eventCount.toLocaleString('en')} events · ${fdLanes.length} fds · ${fmtMs(data.span)}`;
  for (const el of document.querySelectorAll<HTMLElement>('.backend')) el.classList.toggle('current', el.dataset.backend === backend);
  if (roundCount === 0) {
    const notice = byId('notice');
    notice.style.display = 'block';
    notice.textContent = data.info?.engine === 'libuv'
      ? "This recording is of the libuv engine: Node's own epoll loop runs in C and cannot be seen from JavaScript, so there are no rounds — only each connection's events, on its fd's lane."
      : 'This recording has no loop rounds: only the events below.';
  }

  // ---- Canvas and view -------------------------------------------------------------------------
  const chart = byId<HTMLDivElement>('chart');
  const canvas = byId<HTMLCanvasElement>('canvas');
  const tooltip = byId<HTMLDivElement>('tooltip');
  const ctx = canvas.getContext('2d')!;
  const LABEL_W = 170;
  const AXIS_H = 26;
  const LOOP_H = 46;
  const COUNTER_H = 30;
  const FD_H = 22;
  const COLORS = {
    blocked: '#b9c6d8', blockedHatch: '#dfe6ef', work: '#e8890c', node: '#8e5bd8', read: '#1f9d55', write: '#2f6fd6',
    end: '#d23c3c', other: '#777777', interest: '#e9c42a', grid: '#e6e9ef', text: '#1d2430', dim: '#6b7280', hover: 'rgba(47,111,214,0.10)',
  };
  let width = 0;
  let height = 0;
  let dpr = 1;
  let viewStart = 0;
  let viewEnd = Math.max(data.span, 1);
  let scrollY = 0;
  let hoverRound = -1;
  let hoverEvent = -1;
  let pinned = false;
  let frameRequested = false;
  const plotW = (): number => Math.max(1, width - LABEL_W);
  const xOf = (t: number): number => LABEL_W + ((t - viewStart) / (viewEnd - viewStart)) * plotW();
  const tOf = (x: number): number => viewStart + ((x - LABEL_W) / plotW()) * (viewEnd - viewStart);
  const countersTop = AXIS_H + LOOP_H;
  const fdTop = (): number => countersTop + counterNames.length * COUNTER_H;
  const laneY = (index: number): number => fdTop() + index * FD_H - scrollY;
  const maxScroll = (): number => Math.max(0, fdTop() + fdLanes.length * FD_H - height + 4);

  const hatch = (() => {
    const tile = document.createElement('canvas');
    tile.width = tile.height = 6;
    const t = tile.getContext('2d')!;
    t.fillStyle = COLORS.blockedHatch;
    t.fillRect(0, 0, 6, 6);
    t.strokeStyle = COLORS.blocked;
    t.lineWidth = 2;
    t.beginPath();
    t.moveTo(-1, 7); t.lineTo(7, -1);
    t.moveTo(5, 7); t.lineTo(7, 5);
    t.moveTo(-1, 1); t.lineTo(1, -1);
    t.stroke();
    return ctx.createPattern(tile, 'repeat')!;
  })();

  function resize(): void {
    dpr = window.devicePixelRatio || 1;
    width = chart.clientWidth;
    height = chart.clientHeight;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    scrollY = Math.min(scrollY, maxScroll());
    draw();
  }
  function requestDraw(): void {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      draw();
    });
  }

  /** First index i with a[i] >= t (a sorted). */
  function lowerBound(a: ArrayLike<number>, t: number, lo = 0, hi = a.length): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A tick's time, with as many decimals as the step needs. */
  function fmtTick(us: number, step: number): string {
    const [unit, scale] = step >= 1e6 ? ['s', 1e6] : step >= 1000 ? ['ms', 1000] : ['µs', 1];
    const decimals = Math.max(0, Math.min(3, -Math.floor(Math.log10(step / scale) + 1e-9)));
    return `${(us / scale).toFixed(decimals)} ${unit}`;
  }

  /** A nice step for axis ticks about every 110 px. */
  function tickStep(): number {
    const raw = ((viewEnd - viewStart) / plotW()) * 110;
    const p = 10 ** Math.floor(Math.log10(raw));
    const m = raw / p;
    return (m < 2 ? 2 : m < 5 ? 5 : 10) * p;
  }

  function draw(): void {
    const started = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    drawAxis();
    let drawnEvents = 0;
    // fd lanes (clipped below the loop and counter lanes)
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, fdTop(), width, height - fdTop());
    ctx.clip();
    const first = Math.max(0, Math.floor(scrollY / FD_H));
    const last = Math.min(fdLanes.length, Math.ceil((scrollY + height - fdTop()) / FD_H) + 1);
    for (let l = first; l < last; l++) drawnEvents += drawFdLane(fdLanes[l]!, laneY(l));
    ctx.restore();
    counterNames.forEach((name, i) => drawCounter(name, countersTop + i * COUNTER_H));
    state.drawnRounds = drawLoop();
    drawHover();
    state.drawnEvents = drawnEvents;
    state.frames++;
    state.view = [viewStart, viewEnd];
    state.lastFrameMs = performance.now() - started;
  }

  function drawAxis(): void {
    ctx.fillStyle = '#fafbfc';
    ctx.fillRect(0, 0, width, AXIS_H);
    const step = tickStep();
    ctx.strokeStyle = COLORS.grid;
    ctx.fillStyle = COLORS.dim;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let t = Math.ceil(viewStart / step) * step; t <= viewEnd; t += step) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.moveTo(x, AXIS_H - 6);
      ctx.lineTo(x, height);
      ctx.fillText(fmtTick(t, step), x + 3, AXIS_H / 2);
    }
    ctx.stroke();
    ctx.fillStyle = COLORS.text;
    ctx.fillText('time since the first event', 6, AXIS_H / 2);
  }

  function label(text: string, y: number, h: number, sub?: string): void {
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, y, LABEL_W - 4, h);
    ctx.fillStyle = COLORS.text;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, y, LABEL_W - 6, h);
    ctx.clip();
    ctx.fillText(text, 6, y + (sub ? h / 2 - 6 : h / 2));
    if (sub) {
      ctx.fillStyle = COLORS.dim;
      ctx.fillText(sub, 6, y + h / 2 + 8);
    }
    ctx.restore();
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(0, y + h - 0.5);
    ctx.lineTo(width, y + h - 0.5);
    ctx.stroke();
  }

  /** The loop lane; returns how many rounds are in view (drawn one by one or per pixel). */
  function drawLoop(): number {
    const y = AXIS_H;
    const h = LOOP_H;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(LABEL_W, y, plotW(), h);
    const top = y + 4;
    const barH = h - 8;
    if (roundCount === 0) {
      ctx.fillStyle = COLORS.dim;
      ctx.fillText(backend === 'libuv' ? "libuv's loop runs inside Node: not visible to JavaScript" : 'no rounds recorded', LABEL_W + 8, y + h / 2);
      for (const i of loopEvents) {
        const x = xOf(evTs[i]!);
        if (x >= LABEL_W && x <= width) {
          ctx.fillStyle = COLORS.other;
          ctx.fillRect(Math.round(x), top, 1, 6);
        }
      }
      label(loopName, y, h, 'loop');
      return 0;
    }
    const r0 = Math.max(0, lowerBound(rEnd, viewStart));
    const r1 = Math.min(roundCount, lowerBound(rStart, viewEnd + 1e-9));
    const n = Math.max(0, r1 - r0);
    const w = plotW();
    if (n <= w / 3) {
      // Few enough: each round as it was.
      for (let r = r0; r < r1; r++) {
        const s = xOf(rStart[r]!);
        const wk = rWoke[r]! >= 0 ? xOf(rWoke[r]!) : xOf(rEnd[r]!);
        const we = rWorkEnd[r]! >= 0 ? xOf(rWorkEnd[r]!) : wk;
        const ns = rNode[r]! >= 0 ? xOf(rNode[r]!) : -1;
        const e = xOf(rEnd[r]!);
        ctx.fillStyle = hatch;
        ctx.fillRect(s, top, Math.max(1, wk - s), barH);
        ctx.fillStyle = COLORS.work;
        ctx.fillRect(wk, top, Math.max(1, we - wk), barH);
        if (ns >= 0) {
          ctx.fillStyle = COLORS.node;
          ctx.fillRect(ns, top + barH * 0.25, Math.max(1, e - ns), barH * 0.5);
        }
        if (n < w / 8) {
          ctx.fillStyle = '#5b6576';
          ctx.fillRect(Math.round(s), top - 3, 1, barH + 6);
        }
      }
    } else {
      // More rounds than pixels: per pixel column, the share of blocked, work and Node time.
      const blocked = new Float32Array(w);
      const work = new Float32Array(w);
      const node = new Float32Array(w);
      const usPerPx = (viewEnd - viewStart) / w;
      const add = (into: Float32Array, a: number, b: number): void => {
        if (b <= a) return;
        let x0 = (a - viewStart) / usPerPx;
        const x1 = (b - viewStart) / usPerPx;
        if (x1 < 0 || x0 >= w) return;
        if (x0 < 0) x0 = 0;
        let c = Math.floor(x0);
        while (c < w && c < x1) {
          const end = Math.min(x1, c + 1);
          into[c]! += end - Math.max(x0, c);
          x0 = end;
          c++;
        }
      };
      for (let r = r0; r < r1; r++) {
        const woke = rWoke[r]! >= 0 ? rWoke[r]! : rEnd[r]!;
        const workEnd = rWorkEnd[r]! >= 0 ? rWorkEnd[r]! : woke;
        const nodeStart = rNode[r]! >= 0 ? rNode[r]! : rEnd[r]!;
        add(blocked, rStart[r]!, woke);
        add(work, woke, workEnd);
        add(node, nodeStart, rEnd[r]!);
      }
      for (let c = 0; c < w; c++) {
        const total = blocked[c]! + work[c]! + node[c]!;
        if (total <= 0) continue;
        const x = LABEL_W + c;
        const hw = (work[c]! / total) * barH;
        const hn = (node[c]! / total) * barH;
        const hb = barH - hw - hn;
        ctx.fillStyle = hatch;
        ctx.fillRect(x, top, 1, hb);
        ctx.fillStyle = COLORS.node;
        ctx.fillRect(x, top + hb, 1, hn);
        ctx.fillStyle = COLORS.work;
        ctx.fillRect(x, top + hb + hn, 1, hw);
      }
    }
    label(loopName, y, h, `${n.toLocaleString('en')} rounds in view`);
    return n;
  }

  function drawCounter(name: string, y: number): void {
    const samples = data.counters[name]!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(LABEL_W, y, plotW(), COUNTER_H);
    let max = 1;
    for (let i = 1; i < samples.length; i += 2) max = Math.max(max, samples[i]!);
    ctx.strokeStyle = COLORS.write;
    ctx.beginPath();
    let lastY = y + COUNTER_H - 3;
    ctx.moveTo(LABEL_W, lastY);
    for (let i = 0; i < samples.length; i += 2) {
      const x = Math.min(width, Math.max(LABEL_W, xOf(samples[i]! * TICK)));
      ctx.lineTo(x, lastY);
      lastY = y + COUNTER_H - 3 - (samples[i + 1]! / max) * (COUNTER_H - 8);
      ctx.lineTo(x, lastY);
    }
    ctx.lineTo(width, lastY);
    ctx.stroke();
    label(name, y, COUNTER_H, `max ${max.toLocaleString('en')}`);
  }

  /** One fd lane; returns the marks drawn. */
  function drawFdLane(lane: Lane, y: number): number {
    let drawn = 0;
    const h = FD_H;
    // Waiting for writable.
    ctx.fillStyle = COLORS.interest;
    for (let b = 0; b < lane.bands.length; b += 2) {
      const a = xOf(lane.bands[b]!);
      const e = xOf(lane.bands[b + 1]!);
      if (e < LABEL_W || a > width) continue;
      ctx.fillRect(Math.max(LABEL_W, a), y + h - 5, Math.max(1, Math.min(width, e) - Math.max(LABEL_W, a)), 3);
    }
    // Ready marks: a small triangle at the top.
    const r0 = lowerBound(lane.readyTs, viewStart);
    const r1 = lowerBound(lane.readyTs, viewEnd + 1e-9);
    let lastX = -1;
    for (let i = r0; i < r1; i++) {
      const x = Math.round(xOf(lane.readyTs[i]!));
      if (x === lastX) continue;
      lastX = x;
      ctx.fillStyle = lane.readyWrite[i] ? COLORS.write : COLORS.read;
      ctx.beginPath();
      ctx.moveTo(x - 3, y + 1);
      ctx.lineTo(x + 3, y + 1);
      ctx.lineTo(x, y + 6);
      ctx.fill();
      drawn++;
    }
    // Actions: a tick per pixel column and category.
    const rows: Record<Category, [number, number]> = { read: [7, 6], write: [11, 6], end: [5, 12], other: [13, 4] };
    for (const c of CATEGORIES) {
      const ts = lane.markTs[c];
      if (ts.length === 0) continue;
      ctx.fillStyle = COLORS[c];
      const [dy, mh] = rows[c];
      let i = lowerBound(ts, viewStart);
      const end = lowerBound(ts, viewEnd + 1e-9);
      const usPerPx = (viewEnd - viewStart) / plotW();
      while (i < end) {
        const x = Math.floor(xOf(ts[i]!));
        ctx.fillRect(x, y + dy, c === 'end' ? 2 : 1, mh);
        drawn++;
        // Skip the rest of this pixel column.
        const next = viewStart + (x + 1 - LABEL_W) * usPerPx;
        i = ts[i + 1] !== undefined && ts[i + 1]! < next ? lowerBound(ts, next, i + 1, end) : i + 1;
      }
    }
    label(lane.name, y, h);
    return drawn;
  }

  function drawHover(): void {
    if (hoverRound < 0) return;
    const a = Math.max(LABEL_W, xOf(rStart[hoverRound]!));
    const b = Math.min(width, xOf(rEnd[hoverRound]!));
    ctx.fillStyle = COLORS.hover;
    ctx.fillRect(a, AXIS_H, Math.max(2, b - a), height - AXIS_H);
    ctx.strokeStyle = COLORS.write;
    ctx.strokeRect(a + 0.5, AXIS_H + 0.5, Math.max(2, b - a) - 1, LOOP_H - 1);
  }

  // ---- Hover and detail ------------------------------------------------------------------------
  const detailHead = byId('detail-head');
  const detailBody = byId('detail-body');
  /** The round at time t (or -1). */
  function roundAt(t: number): number {
    const r = lowerBound(rStart, t + 1e-9) - 1;
    return r >= 0 && t <= rEnd[r]! ? r : -1;
  }
  /** The event on a lane nearest to x, within 6 px (or -1). */
  function eventNear(lane: Lane, x: number): number {
    let best = -1;
    let bestDx = 6;
    for (const c of CATEGORIES) {
      const ts = lane.markTs[c];
      const i = lowerBound(ts, tOf(x));
      for (const j of [i - 1, i]) {
        if (j < 0 || j >= ts.length) continue;
        const dx = Math.abs(xOf(ts[j]!) - x);
        if (dx < bestDx) {
          bestDx = dx;
          best = lane.marks[c][j]!;
        }
      }
    }
    return best;
  }
  function eventLine(i: number, fd: number): HTMLDivElement {
    const div = document.createElement('div');
    const event = eventAt(i);
    div.textContent = TraceWords.words(event);
    if (TraceWords.QUIET_KINDS.has(event.kind)) div.className = 'quiet';
    if (i === hoverEvent || (fd >= 0 && evFd[i] === fd)) div.classList.add('here');
    return div;
  }
  function showDetail(round: number, event: number, fd: number): void {
    detailBody.replaceChildren();
    if (round >= 0) {
      const blocked = rWoke[round]! >= 0 ? rWoke[round]! - rStart[round]! : rEnd[round]! - rStart[round]!;
      const work = rWorkEnd[round]! >= 0 && rWoke[round]! >= 0 ? rWorkEnd[round]! - rWoke[round]! : 0;
      const node = rNode[round]! >= 0 ? rEnd[round]! - rNode[round]! : 0;
      detailHead.innerHTML = '';
      const head = document.createElement('span');
      head.textContent = `Round ${(round + 1).toLocaleString('en')} of ${roundCount.toLocaleString('en')}, at ${fmtMs(rStart[round]!)}: ` +
        `blocked ${fmtMs(blocked)}, work ${fmtMs(work)}${node > 0 ? `, yield to Node ${fmtMs(node)}` : ''}`;
      detailHead.append(head);
      const limit = 400;
      const n = Math.min(rCount[round]!, limit);
      for (let i = rFirst[round]!; i < rFirst[round]! + n; i++) detailBody.append(eventLine(i, fd));
      if (rCount[round]! > limit) detailBody.append(`... and ${rCount[round]! - limit} more events`);
    } else if (event >= 0) {
      detailHead.textContent = `Event at ${fmtMs(evTs[event]!)} (outside any loop round)`;
      for (let i = Math.max(0, event - 5); i < Math.min(eventCount, event + 6); i++) detailBody.append(eventLine(i, -1));
    }
    if (pinned) {
      const tag = document.createElement('span');
      tag.className = 'pinned';
      tag.textContent = ' pinned (click to release)';
      detailHead.append(tag);
    }
  }
  function laneAtY(y: number): { lane: Lane | null; loop: boolean } {
    if (y >= AXIS_H && y < fdTop()) return { lane: null, loop: true };
    const index = Math.floor((y - fdTop() + scrollY) / FD_H);
    return { lane: y >= fdTop() ? fdLanes[index] ?? null : null, loop: false };
  }
  function hover(x: number, y: number): void {
    if (x < LABEL_W || y < AXIS_H) {
      tooltip.style.display = 'none';
      return;
    }
    const { lane } = laneAtY(y);
    let event = lane ? eventNear(lane, x) : -1;
    let round = event >= 0 ? evRound[event]! : roundAt(tOf(x));
    if (event < 0 && round < 0 && roundCount === 0) {
      // libuv: the nearest event on the loop lane.
      event = -1;
      round = -1;
    }
    if (!pinned) {
      hoverRound = round;
      hoverEvent = event;
      showDetail(round, event, lane ? lane.fd : -1);
      requestDraw();
    }
    const text: string[] = [];
    if (event >= 0) text.push(TraceWords.words(eventAt(event)));
    if (round >= 0) {
      const first = rFirst[round]!;
      text.push(`round ${(round + 1).toLocaleString('en')}: ${rCount[round]} events`);
      if (rCount[round]! > 0) text.push(TraceWords.words(eventAt(first)));
      if (rCount[round]! > 1 && (kindOf(first + 1) === 'woke' || kindOf(first + 1) === 'eintr')) text.push(TraceWords.words(eventAt(first + 1)));
    }
    if (text.length === 0) {
      tooltip.style.display = 'none';
      return;
    }
    tooltip.textContent = text.join('\n');
    tooltip.style.display = 'block';
    const tw = tooltip.offsetWidth;
    tooltip.style.left = `${Math.min(x + 14, width - tw - 4)}px`;
    tooltip.style.top = `${Math.min(y + 14, height - tooltip.offsetHeight - 4)}px`;
  }

  // ---- Interaction -----------------------------------------------------------------------------
  const minSpan = 0.5; // µs
  function zoom(factor: number, atX: number): void {
    const t = tOf(atX);
    const span = Math.max(minSpan, Math.min(data.span * 1.2 + 1, (viewEnd - viewStart) * factor));
    const f = (t - viewStart) / (viewEnd - viewStart);
    viewStart = t - f * span;
    viewEnd = viewStart + span;
    requestDraw();
  }
  function pan(dx: number): void {
    const dt = (dx / plotW()) * (viewEnd - viewStart);
    viewStart += dt;
    viewEnd += dt;
    requestDraw();
  }
  function fit(): void {
    const pad = Math.max(data.span * 0.01, 1);
    viewStart = -pad;
    viewEnd = data.span + pad;
    requestDraw();
  }
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    if (e.shiftKey) {
      scrollY = Math.max(0, Math.min(maxScroll(), scrollY + (e.deltaY || e.deltaX)));
      requestDraw();
    } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      pan(e.deltaX);
    } else {
      zoom(Math.exp(e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002)), e.offsetX);
    }
  }, { passive: false });
  let drag: { x: number; y: number; moved: boolean } | null = null;
  canvas.addEventListener('mousedown', (e) => {
    drag = { x: e.offsetX, y: e.offsetY, moved: false };
  });
  window.addEventListener('mouseup', (e) => {
    if (drag && !drag.moved && e.target === canvas) {
      pinned = !pinned;
      if (!pinned) hover(e.offsetX, e.offsetY);
      else showDetail(hoverRound, hoverEvent, -1);
    }
    drag = null;
  });
  canvas.addEventListener('mousemove', (e) => {
    if (drag && (e.buttons & 1)) {
      const dx = e.offsetX - drag.x;
      const dy = e.offsetY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        pan(-dx);
        scrollY = Math.max(0, Math.min(maxScroll(), scrollY - dy));
        drag.x = e.offsetX;
        drag.y = e.offsetY;
        tooltip.style.display = 'none';
        return;
      }
    }
    hover(e.offsetX, e.offsetY);
  });
  canvas.addEventListener('mouseleave', () => {
    tooltip.style.display = 'none';
  });
  canvas.addEventListener('dblclick', (e) => zoom(0.25, e.offsetX));
  window.addEventListener('keydown', (e) => {
    const mid = LABEL_W + plotW() / 2;
    if (e.key === '+' || e.key === '=' || e.key === 'w') zoom(0.5, mid);
    else if (e.key === '-' || e.key === 's') zoom(2, mid);
    else if (e.key === '0' || e.key === 'f') fit();
    else if (e.key === 'ArrowLeft' || e.key === 'a') pan(-plotW() / 4);
    else if (e.key === 'ArrowRight' || e.key === 'd') pan(plotW() / 4);
    else return;
    e.preventDefault();
  });
  byId('zoom-in').addEventListener('click', () => zoom(0.5, LABEL_W + plotW() / 2));
  byId('zoom-out').addEventListener('click', () => zoom(2, LABEL_W + plotW() / 2));
  byId('fit').addEventListener('click', fit);
  new ResizeObserver(resize).observe(chart);

  // For tests and the curious: where things are on screen.
  (window as unknown as { timelineTest: unknown }).timelineTest = {
    roundX: (r: number): number => (xOf(rStart[r]!) + xOf(rEnd[r]!)) / 2,
    loopY: (): number => AXIS_H + LOOP_H / 2,
    laneY: (fd: number): number => laneY(fdLanes.findIndex((lane) => lane.fd === fd)) + FD_H / 2,
    setView: (start: number, end: number): void => {
      viewStart = start;
      viewEnd = end;
      draw();
    },
    roundTimes: (r: number): number[] => [rStart[r]!, rWoke[r]!, rWorkEnd[r]!, rNode[r]!, rEnd[r]!],
  };

  fit();
  resize();
  state.rounds = roundCount;
  state.events = eventCount;
  state.lanes = fdLanes.length + 1;
  state.loadMs = performance.now();
  state.ready = true;
})();

window.addEventListener('error', (e) => {
  const s = (window as unknown as { timelineState?: { error: string | null } }).timelineState;
  if (s) s.error = String(e.message);
});

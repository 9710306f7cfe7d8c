// `selectchat timeline`'s page: one self-contained HTML file (no network: the styles, the
// scripts and the data are all inline). Hover text comes from the very words.js that --trace
// prints with, inlined from the build, so the page and the trace can never say different things.
import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from '../package.js';
import type { PageData } from './page-data.js';
import { PAGE_STYLE, pageBody } from './page-shell.js';

/** The compiled modules the page inlines. */
const WORDS_JS = `${PACKAGE_ROOT}dist/trace/words.js`;
const PAGE_JS = `${PACKAGE_ROOT}dist/record/page/timeline-page.js`;

/** A compiled ES module as a plain script: no import or export keywords, no source map link. */
function asScript(source: string): string {
  return source
    .replace(/^import .*$/gm, '')
    .replace(/^export (?=(const|function|class|let) )/gm, '')
    .replace(/^export \{\};$/gm, '')
    .replace(/^\/\/# sourceMappingURL=.*$/gm, '');
}

/** Text that may sit inside a <script> element. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** The page for data. */
export function timelineHtml(data: PageData): string {
  const words = asScript(readFileSync(WORDS_JS, 'utf8'));
  const page = asScript(readFileSync(PAGE_JS, 'utf8'));
  // JSON inside a script element: "<" escaped, so no text in the data can end the element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const title = `selectchat timeline: ${data.file}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${pageBody(escapeHtml(data.file))}
<script type="application/json" id="timeline-data">${json}</script>
<script>
const TraceWords = (() => {
${scriptSafe(words)}
return { words, QUIET_KINDS, eventNames };
})();
</script>
<script>
${scriptSafe(page)}
</script>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

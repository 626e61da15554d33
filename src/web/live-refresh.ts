/**
 * Pages that show something active follow it without a reload: one small inline script, allowed by its own
 * sha256 in the Content-Security-Policy of those pages only, fetches the page again and swaps in its <main>
 * until the page no longer says it is live. It never swaps while a form field has the focus (an approval note
 * being typed). Without scripts a <noscript> meta refresh does the same by reloading, and stops the same way.
 */

import { createHash } from 'node:crypto';
import { html, type SafeHtml } from './html.js';

/** How a live page refreshes: how often, and since when what it shows holds. */
export interface LivePage {
  readonly everyMs: number;
  /** RFC 3339: when the page was rendered. */
  readonly asOf: string;
  /** What keeps it live, for the note on the page ("the run is running"). */
  readonly why: string;
}

/** Authored here, never from data. No backtick and no dollar-brace inside: it is the literal text of the tag below. */
const SCRIPT = html`(function () {
  'use strict';
  var root = document.documentElement;
  var main = document.querySelector('main[data-live]');
  if (!main) return;
  var every = Number(main.getAttribute('data-live')) || 3000;
  var failures = 0;
  root.setAttribute('data-live', 'on');
  function editing() {
    var a = document.activeElement;
    return !!a && a !== document.body && typeof a.closest === 'function' && a.closest('main form') !== null;
  }
  function later(ms) { window.setTimeout(tick, ms); }
  function stop() { root.setAttribute('data-live', 'stopped'); }
  function swap(text) {
    var doc = new DOMParser().parseFromString(text, 'text/html');
    var next = doc.querySelector('main');
    if (!next) throw new Error('no main in the page');
    var open = Array.prototype.map.call(document.querySelectorAll('main details'), function (d) { return d.open; });
    document.querySelector('main').replaceWith(document.importNode(next, true));
    document.querySelectorAll('main details').forEach(function (d, i) { if (open[i]) d.open = true; });
    document.title = doc.title;
    return next.getAttribute('data-live');
  }
  function tick() {
    if (document.hidden || editing()) return later(every);
    fetch(location.href, { credentials: 'same-origin', cache: 'no-store', redirect: 'error' })
      .then(function (res) {
        if (res.status === 401 || res.status === 403 || res.status === 404) return null;
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        if (text === null) return stop();
        var live = swap(text);
        failures = 0;
        if (!live) return stop();
        every = Number(live) || every;
        later(every);
      })
      .catch(function () {
        failures++;
        later(Math.min(every * Math.pow(2, failures), 60000));
      });
  }
  later(every);
})();`;

/** The script's CSP source expression, from its exact text. */
export const LIVE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SCRIPT.toString()).digest('base64')}'`;

/** What a live page adds to <head>: a reload for browsers that run no script. */
export function liveHead(live: LivePage): SafeHtml {
  return html`<noscript><meta http-equiv="refresh" content="${String(Math.max(1, Math.round(live.everyMs / 1000)))}"></noscript>`;
}

/** The line at the top of a live page's <main> (replaced with it at every refresh). */
export function liveNote(live: LivePage): SafeHtml {
  return html`<p class="live">Live: ${live.why}; this page follows it every ${String(live.everyMs / 1000)} s until nothing here is active. As of <time datetime="${live.asOf}">${live.asOf}</time>.</p>`;
}

/** The script element, its text exactly the hashed one. */
export function liveScript(): SafeHtml {
  return html`<script>${SCRIPT}</script>`;
}

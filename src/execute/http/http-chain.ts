/** Follows an http step's request through its redirects, checking every hop against `http.allowHosts`. */

import { toError } from '../../core/errors.js';
import type { AllowHosts } from './allow-hosts.js';
import { checkUrlHost } from './check-url-host.js';
import { exchange, type ExchangeResponse } from './http-exchange.js';
import type { ResolvedHeaders } from './header-values.js';

/** Redirects followed at most; one more 3xx fails the step. */
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** One request of the chain as recorded: its status, or why it was refused or failed. */
export interface HttpHop {
  readonly method: string;
  readonly url: string;
  readonly status?: number;
  readonly refused?: string;
  readonly error?: string;
}

/** How a chain ended. */
export type ChainEnd =
  | { readonly kind: 'response'; readonly status: number; readonly body: Buffer; readonly truncated: boolean }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'bad_url'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };

/** What a chain did: every hop, the last URL reached for, and its end. */
export interface ChainResult {
  readonly hops: readonly HttpHop[];
  readonly url: string;
  readonly end: ChainEnd;
}

/** What a chain needs. */
export interface ChainRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ResolvedHeaders;
  readonly body: string | null;
  readonly expectStatus: readonly number[] | null;
  readonly allow: AllowHosts;
  readonly signal: AbortSignal;
  readonly keepBytes: number;
  readonly readBytes: number;
}

/**
 * Sends the request and follows up to MAX_REDIRECTS redirects. A 3xx whose status is in
 * expectStatus is the answer, not followed. 303, and 301/302 after a POST, go on as GET
 * without a body (as browsers do); 307/308 keep method and body. Headers read from files are
 * sent only to the first URL's origin, so a redirect cannot carry a secret elsewhere.
 * Network errors and aborts reject, with the hops so far in `hops`.
 */
export async function followChain(request: ChainRequest, hops: HttpHop[]): Promise<ChainResult> {
  let url = parseUrl(request.url, undefined);
  if (typeof url === 'string') return { hops, url: withoutCredentials(request.url), end: { kind: 'bad_url', message: url } };
  const origin = url.origin;
  let method = request.method.toUpperCase();
  let body = request.body;
  for (let redirects = 0; ; redirects += 1) {
    const res = await sendHop(request, { url, method, body, sameOrigin: url.origin === origin }, hops);
    if ('kind' in res) return { hops, url: url.href, end: res };
    const redirectable = REDIRECT_STATUSES.has(res.status) && !(request.expectStatus ?? []).includes(res.status);
    if (!redirectable || res.location === null) {
      return { hops, url: url.href, end: { kind: 'response', status: res.status, body: res.body, truncated: res.truncated } };
    }
    if (redirects === MAX_REDIRECTS) {
      const message = `more than ${MAX_REDIRECTS} redirects, the last to ${res.location}`;
      return { hops, url: url.href, end: { kind: 'error', message } };
    }
    const next = parseUrl(res.location, url);
    if (typeof next === 'string') {
      return { hops, url: url.href, end: { kind: 'bad_url', message: `redirect from ${url.href}: ${next}` } };
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = null;
    }
    url = next;
  }
}

interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly body: string | null;
  readonly sameOrigin: boolean;
}

/** Checks the hop's host, then sends it; records the hop either way. */
async function sendHop(request: ChainRequest, hop: Hop, hops: HttpHop[]): Promise<ExchangeResponse | ChainEnd> {
  const { url, method } = hop;
  const check = await checkUrlHost(url, request.allow, request.signal);
  if (!check.allowed) {
    hops.push({ method, url: url.href, refused: check.refusal.reason });
    return { kind: 'refused', message: `${method} ${url.href} refused: ${check.refusal.reason}` };
  }
  const { plain, secret } = request.headers;
  try {
    const res = await exchange({
      url,
      method,
      headers: hop.sameOrigin ? { ...plain, ...secret } : { ...plain },
      body: hop.body,
      addresses: check.addresses,
      signal: request.signal,
      keepBytes: request.keepBytes,
      readBytes: request.readBytes,
    });
    hops.push({ method, url: url.href, status: res.status });
    return res;
  } catch (err) {
    const stopped = request.signal.aborted ? `stopped: ${String(request.signal.reason)}` : null;
    hops.push({ method, url: url.href, error: stopped ?? toError(err).message });
    throw err;
  }
}

/** A URL the step may call, or why not: only http and https, and no credentials in the URL (use a header file). */
function parseUrl(text: string, base: URL | undefined): URL | string {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return `not a URL: ${withoutCredentials(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `only http and https URLs are allowed, not ${url.protocol}`;
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed; send them in a header read from a file';
  return url;
}

/** The text to record for a URL: never with the user and password it may carry. */
function withoutCredentials(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//');
  }
}

/** One HTTP request and its response, on a connection pinned to addresses checked beforehand. */

import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** One request, to be sent only to `addresses`. */
export interface ExchangeRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
  /** The checked addresses of the URL's host name (unused for an IP-literal host). */
  readonly addresses: readonly LookupAddress[];
  readonly signal: AbortSignal;
  /** Body bytes to keep. */
  readonly keepBytes: number;
  /** Body bytes to read at most; past it the response is dropped and marked truncated. */
  readonly readBytes: number;
}

/** What came back. */
export interface ExchangeResponse {
  readonly status: number;
  readonly location: string | null;
  readonly body: Buffer;
  readonly truncated: boolean;
}

/** Sends the request and reads the response body within the limits; rejects on network errors and abort. */
export function exchange(request: ExchangeRequest): Promise<ExchangeResponse> {
  return new Promise((resolve, reject) => {
    const { url } = request;
    const module = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { host: url.host, ...request.headers };
    if (request.body !== null) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = module.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers,
        // The name stays the Host header and TLS server name; only where it connects is pinned.
        lookup: pinnedLookup(request.addresses),
        signal: request.signal,
        agent: false,
      },
      (res) => readResponse(res, request, resolve, reject),
    );
    req.on('error', reject);
    req.end(request.body ?? undefined);
  });
}

/** A lookup that answers only with the addresses that were checked, so DNS cannot change them afterwards. */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const first = addresses[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`no checked address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    // Node's happy-eyeballs connect asks for every address; a plain connect asks for one.
    if (options.all === true) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, first.address, first.family);
  };
}

function readResponse(
  res: http.IncomingMessage,
  request: ExchangeRequest,
  resolve: (value: ExchangeResponse) => void,
  reject: (reason: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  let kept = 0;
  let read = 0;
  let truncated = false;
  const finish = (): void => {
    const location = res.headers.location;
    resolve({ status: res.statusCode ?? 0, location: location ?? null, body: Buffer.concat(chunks, kept), truncated });
  };
  res.on('data', (chunk: Buffer) => {
    read += chunk.length;
    const room = request.keepBytes - kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      chunks.push(part);
      kept += part.length;
    }
    if (read > request.keepBytes) truncated = true;
    if (read > request.readBytes) {
      truncated = true;
      // Settle first: destroying the response makes the request report an abort, which must not count.
      finish();
      res.removeAllListeners('data');
      res.destroy();
    }
  });
  res.once('end', finish);
  res.on('error', reject);
  res.once('aborted', () => reject(new Error('the response was cut off')));
}

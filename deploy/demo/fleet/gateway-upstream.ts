/** One request from the gateway to a replica, with a deadline for the first token (or the whole buffered answer). */
import http from 'node:http';

/** A complete, buffered answer. */
export interface BufferedAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A 200 stream whose first chunk arrived in time; the caller pipes `rest` and must end or destroy it. */
export interface StreamStart {
  readonly kind: 'stream';
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly first: Buffer;
  readonly rest: http.IncomingMessage;
  /** Aborts the upstream request (the client went away mid-stream). */
  abort(): void;
}

/** No answer: a connection error, the deadline, or the caller's abort. */
export interface UpstreamFailure {
  readonly kind: 'failure';
  readonly error: string;
  /** The socket error's code (ECONNREFUSED: nothing listens), null for a deadline or an abort. */
  readonly code: string | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

/** What callUpstream resolves to; it never rejects. */
export type UpstreamResult = BufferedAnswer | StreamStart | UpstreamFailure;

/** The request to send. */
export interface UpstreamRequest {
  readonly host: string;
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: Buffer;
  /** Within this many ms: the whole answer (buffered), or the first body chunk of a 200 (stream). */
  readonly deadlineMs: number;
  readonly stream?: boolean;
  readonly signal?: AbortSignal;
}

// Kept-alive sockets: at a backlog's request rate, a connection per request would pile up TIME_WAIT sockets.
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });

function once(r: UpstreamRequest): Promise<UpstreamResult & { reusedReset?: boolean }> {
  return new Promise((resolve) => {
    let settled = false;
    const headers: http.OutgoingHttpHeaders = r.body ? { 'content-type': 'application/json', 'content-length': r.body.length } : {};
    const req = http.request({ host: r.host, port: r.port, method: r.method, path: r.path, headers, agent });
    const finish = (result: UpstreamResult & { reusedReset?: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      if (result.kind === 'failure') req.destroy();
      resolve(result);
    };
    const fail = (error: string, how: { code?: string; timedOut?: boolean; aborted?: boolean; reusedReset?: boolean } = {}): void =>
      finish({ kind: 'failure', error, code: how.code ?? null, timedOut: how.timedOut ?? false, aborted: how.aborted ?? false, reusedReset: how.reusedReset ?? false });
    const onAbort = (): void => fail('the client went away', { aborted: true });
    const timer = setTimeout(() => fail(`no ${r.stream ? 'first token' : 'answer'} within ${r.deadlineMs} ms`, { timedOut: true }), r.deadlineMs);
    if (r.signal?.aborted) return onAbort();
    r.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => fail(`${err.code ?? 'error'}: ${err.message}`, { code: err.code ?? 'error', reusedReset: req.reusedSocket && err.code === 'ECONNRESET' }));
    req.on('response', (res) => {
      res.on('error', (err) => fail(`answer broke off: ${err.message}`));
      res.on('aborted', () => fail('answer broke off'));
      if (r.stream && res.statusCode === 200) {
        res.once('data', (chunk: Buffer) => {
          if (settled) return;
          res.pause();
          finish({ kind: 'stream', status: 200, headers: res.headers, first: chunk, rest: res, abort: () => req.destroy() });
        });
        res.once('end', () => fail('the stream ended before its first token'));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(r.body);
  });
}

/** Sends one request; a reset on a reused kept-alive socket (the server closed it first) is tried once more at once. */
export async function callUpstream(r: UpstreamRequest): Promise<UpstreamResult> {
  const started = Date.now();
  const first = await once(r);
  if (first.kind !== 'failure' || !first.reusedReset) return first;
  return once({ ...r, deadlineMs: Math.max(1, r.deadlineMs - (Date.now() - started)) });
}

/** Answers with a buffered upstream answer's status, content type and body, plus extra headers. */
export function forwardAnswer(res: http.ServerResponse, answer: BufferedAnswer, extra: Record<string, string>): void {
  const type = answer.headers['content-type'] ?? 'application/json';
  res.writeHead(answer.status, { 'content-type': type, 'content-length': answer.body.length, ...extra });
  res.end(answer.body);
}

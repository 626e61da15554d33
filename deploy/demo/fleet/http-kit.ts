/** A few lines of routing and JSON over node:http, shared by the engine, the supervisor and the dcgm exporters. */
import http from 'node:http';

/** A route handler; `params` are the pattern's capture groups, URI-decoded. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, params: string[], url: URL) => Promise<void> | void;

/** One route: a method and a whole-path pattern. */
export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

/** An error a handler throws to answer with a status and a JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = { error: message },
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A request listener that dispatches to the first matching route, 404 otherwise, 405 for a known path with another method. */
export function createRouter(routes: readonly Route[]): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const matching = routes.map((r) => ({ route: r, match: r.pattern.exec(url.pathname) })).filter((m) => m.match !== null);
    const hit = matching.find((m) => m.route.method === req.method);
    if (!hit?.match) {
      const status = matching.length > 0 ? 405 : 404;
      sendJson(res, status, { error: status === 404 ? `no route for ${url.pathname}` : `method ${req.method} not allowed` });
      return;
    }
    const params = hit.match.slice(1).map((p) => decodeURIComponent(p ?? ''));
    Promise.resolve()
      .then(() => hit.route.handler(req, res, params, url))
      .catch((thrown: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (thrown instanceof HttpError) return sendJson(res, thrown.status, thrown.body);
        sendJson(res, 500, { error: thrown instanceof Error ? thrown.message : String(thrown) });
      });
  };
}

/** Answers with a JSON body. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers with a text body. */
export function sendText(res: http.ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a whole request body; one over the limit is a 413. */
export async function readRaw(req: http.IncomingMessage, limitBytes = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads a request body as JSON (an empty body is `{}`); a bad body is a 400. */
export async function readJson(req: http.IncomingMessage, limitBytes = 1 << 20): Promise<unknown> {
  const text = (await readRaw(req, limitBytes)).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (thrown) {
    throw new HttpError(400, `request body is not JSON: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}

/** Starts a server on host:port; rejects on a listen error (a taken port) instead of crashing. */
export function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Closes a server and every open connection at once (keep-alive sockets would hold close() open). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * How the webhook and the JSON API read a body: application/json only (UTF-8), refused by its
 * declared length before a byte is read, and decoded strictly, so text that is not well-formed
 * UTF-8 is a 400 instead of being replaced and reaching commands.
 */

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { RemediatorError } from '../core/errors.js';

/** Why a Content-Type is not JSON in UTF-8, or null when it is. */
export function jsonTypeProblem(header: string | undefined): string | null {
  if (header === undefined || header.trim() === '') return 'no Content-Type';
  const [type, ...params] = header.split(';');
  if (type?.trim().toLowerCase() !== 'application/json') return `Content-Type ${JSON.stringify(header.slice(0, 100))}`;
  for (const param of params) {
    const [key, value] = param.split('=');
    if (key?.trim().toLowerCase() !== 'charset') continue;
    const charset = (value ?? '').trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return `charset ${JSON.stringify(charset.slice(0, 40))}`;
  }
  return null;
}

/**
 * Refuses a body whose Content-Length is over the limit at once, and closes the connection: the
 * body parser would otherwise read the whole body before answering (and a slow client holds us).
 */
export function refuseOversizedBody(limit: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > limit)) return next();
    res.setHeader('Connection', 'close');
    next(new RemediatorError('BODY_TOO_LARGE', `the body (${declared} bytes) is larger than the limit of ${limit} bytes`));
  };
}

function requireJsonType(req: Request, _res: Response, next: NextFunction): void {
  const problem = jsonTypeProblem(req.headers['content-type']);
  next(problem === null ? undefined : new RemediatorError('UNSUPPORTED_MEDIA_TYPE', `send Content-Type: application/json (UTF-8), not ${problem}`));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text; BAD_ENCODING when it is not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new RemediatorError('BAD_ENCODING', 'the body is not well-formed UTF-8', { cause: err });
  }
}

/**
 * Middleware chain (after auth) that leaves in req.body the body's text (`parse: false`) or its
 * parsed JSON, undefined for an empty body (`parse: true`).
 */
export function jsonBody(options: { readonly limit: number; readonly parse: boolean }): RequestHandler[] {
  const decode = (req: Request, _res: Response, next: NextFunction): void => {
    try {
      const text = Buffer.isBuffer(req.body) ? decodeUtf8(req.body) : '';
      if (!options.parse) req.body = text;
      else req.body = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
      next();
    } catch (err) {
      next(err instanceof RemediatorError ? err : new RemediatorError('BAD_JSON', 'the body is not JSON', { cause: err }));
    }
  };
  return [requireJsonType, refuseOversizedBody(options.limit), express.raw({ type: () => true, limit: options.limit }), decode];
}

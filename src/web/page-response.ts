/** How pages are sent: security headers on every answer, and errors as HTML pages with the right challenge. */

import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config/config.js';
import { RemediatorError, toError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RefusalLog } from '../receive/refusal-log.js';
import { html, link, sitePath, type HtmlValue } from './html.js';
import { LIVE_SCRIPT_HASH, type LivePage } from './live-refresh.js';
import { layout } from './page-layout.js';

/** The Content-Security-Policy of every page: no scripts, no external anything, forms post only here, never framed. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/** The policy of a live page: the strict one, plus its one refresh script (by hash) and fetches of this origin. */
export const LIVE_PAGE_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src ${LIVE_SCRIPT_HASH}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'`;

/** Middleware that sets the security headers before anything else answers (a 401 page gets them too). */
export function pageHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the pages' own form posts,
  // which the cross-site guard must refuse; no other site ever gets a referrer either way.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  // Pages hold command output and form tokens: no shared cache may keep them.
  res.setHeader('Cache-Control', 'no-store');
  next();
}

/** Sends a whole page; a live one (something on it is active) gets the policy that lets its refresh script run. */
export function sendPage(res: Response, status: number, title: string, body: HtmlValue, live?: LivePage): void {
  if (live) res.setHeader('Content-Security-Policy', LIVE_PAGE_CSP);
  res.status(status).type('html').send(layout(title, body, live));
}

/** Browsers prompt for basic credentials only when challenged with Basic, so offer it where some are configured. */
function challenge(auth: Config['auth']): string {
  const basic = auth.read.basic.length > 0 || auth.operate.basic.length > 0;
  return basic ? 'Basic realm="remediator", charset="UTF-8"' : 'Bearer realm="remediator"';
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Credentials needed',
  403: 'Refused',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
};

function asRemediatorError(err: unknown): RemediatorError {
  if (err instanceof RemediatorError) return err;
  const parser = err as { type?: unknown; status?: unknown } | null;
  if (parser?.type === 'entity.too.large') return new RemediatorError('BODY_TOO_LARGE', 'the form is too large', { cause: err });
  if (parser?.status === 400) return new RemediatorError('BAD_REQUEST', 'the form could not be read', { cause: err });
  return new RemediatorError('INTERNAL', 'internal error', { cause: err });
}

/** Error middleware for the pages: the API's error codes rendered as HTML, with the status they carry. */
export function pageErrors(deps: { readonly config: Config; readonly logger: Logger; readonly refusals?: RefusalLog }) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = asRemediatorError(err);
    if (e.httpStatus >= 500) deps.logger.error({ err: toError(e.cause ?? e), path: req.path, code: e.code }, 'page failed');
    else deps.refusals?.refused(e.code, { path: req.path, method: req.method, reason: e.message }, 'request refused');
    if (e.code === 'BODY_TOO_LARGE') res.setHeader('Connection', 'close');
    if (e.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', challenge(deps.config.auth));
    const title = TITLES[e.httpStatus] ?? 'Error';
    const message = e.httpStatus >= 500 ? 'Something went wrong; the log has the details.' : e.message;
    sendPage(res, e.httpStatus, title, html`<p>${message}</p><p class="muted">${e.code}</p><p>${link(sitePath(['runs']), 'Back to the runs')}</p>`);
  };
}

/**
 * Browsers are not clients of the API (SPEC §3): a browser sends cached basic credentials with any
 * request to this origin, so a state-changing request it marks as coming from another site is
 * refused. Same-site counts as foreign too: a sibling host under the same domain is another origin
 * whose pages must not act with an operator's credentials. Requests without these headers (curl,
 * Alertmanager) are not from a browser page and pass.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { RemediatorError } from '../core/errors.js';

/** Why a request is not same-origin, or null when it is (or no browser marked it). */
export function crossSiteReason(headers: IncomingHttpHeaders, publicURL: string): string | null {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site.slice(0, 20)}`;
  const origin = headers.origin;
  if (origin === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return 'Origin is opaque'; // "null" (sandboxed frames, some redirects) and anything unparsable
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'Origin is not a web origin';
  if (parsed.origin === new URL(publicURL).origin) return null;
  // Behind a TLS proxy the scheme may differ from the one this process sees, so the host decides;
  // the Host itself was checked by the host guard before.
  if (parsed.host === headers.host?.toLowerCase()) return null;
  return 'Origin is another site';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Middleware that refuses (403 CROSS_SITE) a state-changing request a browser marks as cross-site, on every route. */
export function crossSiteGuard(publicURL: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method)) return next();
    const reason = crossSiteReason(req.headers, publicURL);
    next(reason === null ? undefined : new RemediatorError('CROSS_SITE', `a browser sent this from another site (${reason}); use the API from a client, or the pages' own forms`));
  };
}

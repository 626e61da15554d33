/**
 * Cross-site request forgery defence for the pages' forms. A browser sends basic credentials
 * with any request to this origin, so an operate form must prove it came from a page served
 * here: a token (HMAC of the action and run id under a key made when the router is built)
 * that another site cannot read, and Sec-Fetch-Site/Origin, checked where the browser sends them.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { RemediatorError } from '../core/errors.js';
import { crossSiteReason } from '../receive/cross-site-guard.js';

export type FormAction = 'cancel' | 'approve';

/** Issues and checks form tokens. */
export interface FormGuard {
  /** The token a form for this action on this run carries. */
  token(action: FormAction, runId: string): string;
  /** Throws FORBIDDEN unless the request is a same-origin post of a valid token for this action and run. */
  check(req: Request, action: FormAction, runId: string): void;
}

/** A guard with its own random key (each process has its own: a form from another replica must be reloaded). */
export function createFormGuard(publicURL: string, key: Buffer = randomBytes(32)): FormGuard {
  const token = (action: FormAction, runId: string): string => createHmac('sha256', key).update(`${action}\0${runId}`).digest('base64url');
  return {
    token,
    check(req, action, runId) {
      // The app's cross-site guard refused these already; checked again so the form never depends on the order of middleware.
      if (crossSiteReason(req.headers, publicURL) !== null) throw new RemediatorError('FORBIDDEN', 'the form was not sent from this site');
      const given = (req.body as { token?: unknown } | undefined)?.token;
      const expected = Buffer.from(token(action, runId));
      const buf = typeof given === 'string' ? Buffer.from(given) : Buffer.alloc(0);
      const ok = buf.length === expected.length && timingSafeEqual(buf, expected);
      if (!ok) throw new RemediatorError('FORBIDDEN', 'the form token is missing or stale: reload the run page and try again');
    },
  };
}

/** Request authentication for the three roles: bearer tokens and basic auth, compared in constant time. */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Config, Role, RoleCredentials } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares two secrets in constant time (hashing first, since timingSafeEqual needs equal lengths). */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function isOpen(creds: RoleCredentials): boolean {
  return creds.bearerTokens.length === 0 && creds.basic.length === 0;
}

/**
 * Who the Authorization header proves to be under these credentials: the basic-auth user name, or
 * `token:<role>` for a bearer token; null when nothing matches. Every candidate is compared, without early exit.
 */
export function principalFor(header: string | undefined, creds: RoleCredentials, role: Role): string | null {
  if (header === undefined) return null;
  let who: string | null = null;
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer?.[1] !== undefined) {
    for (const token of creds.bearerTokens) if (secretEquals(bearer[1].trim(), token)) who = `token:${role}`;
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0) {
      const user = decoded.slice(0, i);
      const pass = decoded.slice(i + 1);
      for (const b of creds.basic) if (secretEquals(user, b.username) && secretEquals(pass, b.password)) who = b.username;
    }
  }
  return who;
}

/** true when the Authorization header satisfies the credentials. */
export function authorizationMatches(header: string | undefined, creds: RoleCredentials): boolean {
  return principalFor(header, creds, 'read') !== null;
}

/** The principal of a request on an open role. */
export const ANONYMOUS = 'anonymous';

/** The authenticated principal requireRole recorded for this request (ANONYMOUS on an open role). */
export function principalOf(res: Response): string {
  const who: unknown = res.locals.principal;
  return typeof who === 'string' ? who : ANONYMOUS;
}

/** The roles whose credentials grant `role`: operate includes read. */
function grantingRoles(role: Role): Role[] {
  return role === 'read' ? ['read', 'operate'] : [role];
}

/** true when `role` needs no credentials (nothing configured for it). */
export function roleIsOpen(auth: Config['auth'], role: Role): boolean {
  return isOpen(auth[role]);
}

/** Express middleware that refuses a request without the role's credentials, before its body is read; records the principal. */
export function requireRole(auth: Config['auth'], role: Role) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (roleIsOpen(auth, role)) {
      res.locals.principal = ANONYMOUS;
      return next();
    }
    const header = req.headers.authorization;
    let who: string | null = null;
    for (const r of grantingRoles(role)) {
      if (isOpen(auth[r])) continue;
      who = principalFor(header, auth[r], r) ?? who;
    }
    if (who !== null) {
      res.locals.principal = who;
      return next();
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="remediator"');
    next(new RemediatorError('UNAUTHORIZED', header === undefined ? 'credentials are missing' : `credentials are not valid for the ${role} role`));
  };
}

/** Roles that are open, for the start-up warning and the loopback check. */
export function openRoles(auth: Config['auth']): Role[] {
  return (['webhook', 'read', 'operate'] as const).filter((r) => roleIsOpen(auth, r));
}

/** true for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

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

/** true when the Authorization header satisfies the credentials; every candidate is compared, without early exit. */
export function authorizationMatches(header: string | undefined, creds: RoleCredentials): boolean {
  if (header === undefined) return false;
  let ok = false;
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer?.[1] !== undefined) {
    for (const token of creds.bearerTokens) ok = secretEquals(bearer[1].trim(), token) || ok;
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0) {
      const user = decoded.slice(0, i);
      const pass = decoded.slice(i + 1);
      for (const b of creds.basic) ok = (secretEquals(user, b.username) && secretEquals(pass, b.password)) || ok;
    }
  }
  return ok;
}

/** The roles whose credentials grant `role`: operate includes read. */
function grantingRoles(role: Role): Role[] {
  return role === 'read' ? ['read', 'operate'] : [role];
}

/** true when `role` needs no credentials (nothing configured for it). */
export function roleIsOpen(auth: Config['auth'], role: Role): boolean {
  return isOpen(auth[role]);
}

/** Express middleware that refuses a request without the role's credentials, before its body is read. */
export function requireRole(auth: Config['auth'], role: Role) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (roleIsOpen(auth, role)) return next();
    const header = req.headers.authorization;
    const granted = grantingRoles(role).some((r) => !isOpen(auth[r]) && authorizationMatches(header, auth[r]));
    if (granted) return next();
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

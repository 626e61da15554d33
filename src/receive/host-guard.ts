/**
 * Against DNS rebinding: only Host names this service is known by are served. A rebinding page
 * reaches us under the attacker's name, so the name decides, not the port (port-forwards and
 * proxies change ports). An IP literal cannot be rebound, so any is served: probes and scrapes by
 * pod IP keep working.
 */

import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';

/** Which Host header values are served. */
export interface HostPolicy {
  /** true when the Host header names this service. */
  allows(hostHeader: string | undefined): boolean;
  /** The names served, for the start-up log ("*" when any is). */
  readonly names: readonly string[];
}

/** The host part of a Host header (brackets of an IPv6 literal and a trailing dot dropped), lower case; null when unparsable. */
export function hostName(hostHeader: string): string | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(hostHeader.trim());
  const name = m?.[1] ?? m?.[2];
  return name === undefined || name === '' ? null : name.toLowerCase().replace(/\.$/, '');
}

const WILDCARD_LISTEN = new Set(['', '0.0.0.0', '::']);

/** true for a listen host that takes every address (0.0.0.0, ::), so the names clients use cannot be known from it. */
export function isWildcardListen(host: string): boolean {
  return WILDCARD_LISTEN.has(host);
}

/** The policy for a config: localhost, the listen host, publicURL's host, the machine's name and allowedHosts. */
export function hostPolicy(config: Pick<Config, 'listen' | 'publicURL' | 'allowedHosts'>, machineName: string = hostname()): HostPolicy {
  const exact = new Set(['localhost', machineName.toLowerCase()]);
  if (!isWildcardListen(config.listen.host)) exact.add(config.listen.host.toLowerCase());
  exact.add(new URL(config.publicURL).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  const suffixes: string[] = [];
  let any = false;
  for (const entry of config.allowedHosts) {
    if (entry === '*') any = true;
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else exact.add(entry);
  }
  const names = any ? ['*'] : [...[...exact].filter((n) => isIP(n) === 0), ...suffixes.map((s) => `*${s}`)];
  return {
    names,
    allows(hostHeader) {
      if (any) return true;
      const name = hostHeader === undefined ? null : hostName(hostHeader);
      if (name === null) return false;
      return isIP(name) !== 0 || exact.has(name) || suffixes.some((s) => name.endsWith(s));
    },
  };
}

// Probes and scrapes may name the service however the platform likes, and these answers hold nothing to steal.
const PROBES = new Set(['/-/healthy', '/-/ready', '/metrics']);

/** Middleware that refuses (421 HOST_NOT_ALLOWED) a request whose Host is not served; probe and scrape GETs are exempt. */
export function hostGuard(policy: HostPolicy) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if ((req.method === 'GET' || req.method === 'HEAD') && PROBES.has(req.path)) return next();
    if (policy.allows(req.headers.host)) return next();
    const shown = JSON.stringify((req.headers.host ?? '').slice(0, 100));
    next(new RemediatorError('HOST_NOT_ALLOWED', `Host ${shown} is not a name of this service; add it to allowedHosts if clients use it`));
  };
}

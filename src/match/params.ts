/** Params: the only alert data that may enter commands, hosts and URLs, each checked against its pattern. */

import type { Alert } from '../core/alert.js';
import type { ParamSpec, Runbook } from '../core/runbook.js';

export type ParamsResult =
  | { readonly ok: true; readonly params: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly param: string; readonly message: string };

const BRACKETED = /^\[([^\]]*)\](?::[0-9]*)?$/;
const HOST_PORT = /^([^:]*):[0-9]*$/;

/** Strips a `:port` from `host:port` or `[ipv6]:port`; a bare IPv6 address (several colons) is left as it is. */
export function stripPort(value: string): string {
  const bracketed = BRACKETED.exec(value);
  if (bracketed) return bracketed[1] ?? '';
  const hostPort = HOST_PORT.exec(value);
  return hostPort ? (hostPort[1] ?? '') : value;
}

const PORT_SUFFIX = /^(?:\[[^\]]*\]|[^:]*):([0-9]+)$/;

/** The port of `host:port` or `[ipv6]:port`; empty when the value names none (then the param is refused). */
export function portOf(value: string): string {
  return PORT_SUFFIX.exec(value)?.[1] ?? '';
}

const TRANSFORMS = { host: stripPort, port: portOf } as const;

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function readSource(spec: ParamSpec, alert: Pick<Alert, 'labels' | 'annotations'>): string | undefined {
  const source = spec.source === 'labels' ? alert.labels : alert.annotations;
  const v: unknown = Object.hasOwn(source, spec.key) ? source[spec.key] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Checks one value against its spec; returns why it is refused, or null. */
function refusal(spec: ParamSpec, value: string): string | null {
  if (value.includes('\0')) return `param "${spec.name}" contains NUL`;
  // A lone surrogate could not reach a command unchanged: it would be re-encoded as U+FFFD.
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) return `param "${spec.name}" is not well-formed Unicode`;
  if (value === '') return `param "${spec.name}" is empty after the ${spec.transform ?? 'host'} transform`;
  if (value.startsWith('-') && !spec.allowLeadingDash) return `param "${spec.name}" value ${show(value)} starts with "-" (set allowLeadingDash to allow it)`;
  if (!spec.pattern.test(value)) return `param "${spec.name}" value ${show(value)} does not match its pattern`;
  return null;
}

/** Extracts and checks every param of a runbook from an alert; the first refused one makes the whole set refused. */
export function extractParams(runbook: Pick<Runbook, 'params'>, alert: Pick<Alert, 'labels' | 'annotations'>): ParamsResult {
  const params = Object.create(null) as Record<string, string>;
  for (const spec of runbook.params) {
    const raw = readSource(spec, alert);
    if (raw === undefined) {
      if (spec.optional) continue;
      return { ok: false, param: spec.name, message: `param "${spec.name}": ${spec.source}.${spec.key} is missing or empty` };
    }
    const value = spec.transform === null ? raw : TRANSFORMS[spec.transform](raw);
    const refused = refusal(spec, value);
    if (refused !== null) return { ok: false, param: spec.name, message: refused };
    params[spec.name] = value;
  }
  return { ok: true, params: Object.freeze(params) };
}

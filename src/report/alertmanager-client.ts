/** An Alertmanager API v2 client for silences and alerts (contracts.md §2), every call bounded by a deadline. */

import { IntegrationError } from './integration-error.js';
import { callJson, parseAnswer, type JsonCall } from './json-call.js';

/** One silence matcher; remediator only makes exact-equality ones. */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

/** A silence to create, or to update when `id` is set. Times are RFC 3339. */
export interface SilenceSpec {
  readonly id?: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** A silence as GET /api/v2/silence/{id} answers it. */
export interface Silence extends SilenceSpec {
  readonly id: string;
  readonly status: { readonly state: 'active' | 'pending' | 'expired' };
  readonly updatedAt: string;
}

/** An alert as POST /api/v2/alerts takes it. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** An alert as GET /api/v2/alerts answers it. */
export interface GettableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly updatedAt: string;
  readonly generatorURL?: string | null;
  readonly fingerprint: string;
  readonly status: { readonly state: 'unprocessed' | 'active' | 'suppressed'; readonly silencedBy: string[]; readonly inhibitedBy: string[] };
}

/** The query of GET /api/v2/alerts: matchers as `name="value"` text, and the state flags (all default true). */
export interface AlertFilter {
  readonly filter?: readonly string[];
  readonly active?: boolean;
  readonly silenced?: boolean;
  readonly inhibited?: boolean;
  readonly unprocessed?: boolean;
  readonly receiver?: string;
}

/** Options of one call. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Talks to one Alertmanager. */
export interface AlertmanagerClient {
  readonly url: string;
  /** Creates a silence or updates it (same id back when extended; a new id when Alertmanager replaced it). */
  createSilence(spec: SilenceSpec, options?: CallOptions): Promise<string>;
  /** The silence, or null when Alertmanager does not know the id. */
  getSilence(id: string, options?: CallOptions): Promise<Silence | null>;
  /** Expires a silence; `gone` when Alertmanager does not know it (0.25 answers 500 "silence not found", 0.26+ 404). */
  expireSilence(id: string, options?: CallOptions): Promise<'expired' | 'gone'>;
  postAlerts(alerts: readonly PostableAlert[], options?: CallOptions): Promise<void>;
  getAlerts(filter?: AlertFilter, options?: CallOptions): Promise<GettableAlert[]>;
}

/** Settings of createAlertmanagerClient. */
export interface AlertmanagerClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9093 (a path prefix is kept). */
  readonly url: string;
  /** Deadline of each call; default 5 s. */
  readonly timeoutMs?: number;
}

/** Builds a client; it opens nothing until the first call. */
export function createAlertmanagerClient(options: AlertmanagerClientOptions): AlertmanagerClient {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const timeoutMs = options.timeoutMs ?? 5000;
  const call = (method: JsonCall['method'], path: string, body: unknown, signal: AbortSignal | undefined): JsonCall => ({
    integration: 'alertmanager',
    method,
    url: new URL(path, base),
    body,
    timeoutMs,
    signal,
  });
  return {
    url: options.url.replace(/\/+$/, ''),
    async createSilence(spec, opts = {}) {
      const c = call('POST', 'api/v2/silences', spec, opts.signal);
      const answer = parseAnswer(c, await callJson(c));
      const id = typeof answer === 'object' && answer !== null ? (answer as { silenceID?: unknown }).silenceID : undefined;
      if (typeof id !== 'string' || id === '') {
        throw new IntegrationError('alertmanager', 'invalid_response', `alertmanager answered a silence without silenceID: ${JSON.stringify(answer)}`);
      }
      return id;
    },
    async getSilence(id, opts = {}) {
      const c = call('GET', `api/v2/silence/${encodeURIComponent(id)}`, undefined, opts.signal);
      try {
        return parseAnswer(c, await callJson(c)) as Silence;
      } catch (thrown) {
        if (isUnknownSilence(thrown)) return null;
        throw thrown;
      }
    },
    async expireSilence(id, opts = {}) {
      try {
        await callJson(call('DELETE', `api/v2/silence/${encodeURIComponent(id)}`, undefined, opts.signal));
        return 'expired';
      } catch (thrown) {
        if (isUnknownSilence(thrown)) return 'gone';
        throw thrown;
      }
    },
    async postAlerts(alerts, opts = {}) {
      await callJson(call('POST', 'api/v2/alerts', alerts, opts.signal));
    },
    async getAlerts(filter = {}, opts = {}) {
      const c = call('GET', `api/v2/alerts?${alertQuery(filter)}`, undefined, opts.signal);
      const answer = parseAnswer(c, await callJson(c));
      if (!Array.isArray(answer)) throw new IntegrationError('alertmanager', 'invalid_response', 'alertmanager answered GET /api/v2/alerts with something not a list');
      return answer as GettableAlert[];
    },
  };
}

/** 0.25 answers an unknown silence id with 500 "silence not found"; 0.26 and later with 404. */
function isUnknownSilence(thrown: unknown): boolean {
  if (!(thrown instanceof IntegrationError) || thrown.kind !== 'http') return false;
  return thrown.status === 404 || (thrown.status === 500 && /silence not found/i.test(thrown.body ?? ''));
}

function alertQuery(filter: AlertFilter): string {
  const query = new URLSearchParams();
  for (const matcher of filter.filter ?? []) query.append('filter', matcher);
  for (const flag of ['active', 'silenced', 'inhibited', 'unprocessed'] as const) {
    const value = filter[flag];
    if (value !== undefined) query.set(flag, String(value));
  }
  if (filter.receiver !== undefined) query.set('receiver', filter.receiver);
  return query.toString();
}

/** A Grafana annotations API client (contracts.md §3), authenticated with a service-account token. */

import { IntegrationError } from './integration-error.js';
import { callJson, parseAnswer, type JsonCall } from './json-call.js';
import type { CallOptions } from './alertmanager-client.js';

/** An annotation to create. Times are epoch milliseconds; `time` is always sent, since Grafana refuses none. */
export interface NewAnnotation {
  readonly time: number;
  readonly timeEnd?: number;
  readonly tags: readonly string[];
  readonly text: string;
  /** Overrides the client's dashboard; omitted on both, the annotation belongs to the organization. */
  readonly dashboardUID?: string;
}

/** What PATCH changes: Grafana applies only non-empty, non-zero fields, and `tags` replaces the whole list. */
export interface AnnotationPatch {
  readonly time?: number;
  readonly timeEnd?: number;
  readonly tags?: readonly string[];
  readonly text?: string;
}

/** Talks to one Grafana. */
export interface GrafanaClient {
  readonly url: string;
  /** Creates an annotation and returns its id. */
  createAnnotation(annotation: NewAnnotation, options?: CallOptions): Promise<number>;
  patchAnnotation(id: number, patch: AnnotationPatch, options?: CallOptions): Promise<void>;
}

/** Settings of createGrafanaClient. */
export interface GrafanaClientOptions {
  /** Base URL, e.g. http://127.0.0.1:3000 (a sub-path such as /grafana is kept). */
  readonly url: string;
  /** The service-account token, sent as `Authorization: Bearer <token>`. */
  readonly token: string;
  readonly dashboardUID?: string;
  /** Deadline of each call; default 5 s. */
  readonly timeoutMs?: number;
}

/** Builds a client; it opens nothing until the first call. */
export function createGrafanaClient(options: GrafanaClientOptions): GrafanaClient {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const call = (method: JsonCall['method'], path: string, body: unknown, signal: AbortSignal | undefined): JsonCall => ({
    integration: 'grafana',
    method,
    url: new URL(path, base),
    headers: { authorization: `Bearer ${options.token}` },
    body,
    timeoutMs: options.timeoutMs ?? 5000,
    signal,
  });
  return {
    url: options.url.replace(/\/+$/, ''),
    async createAnnotation(annotation, opts = {}) {
      const dashboardUID = annotation.dashboardUID ?? options.dashboardUID;
      const body = { ...annotation, tags: [...annotation.tags], ...(dashboardUID === undefined ? {} : { dashboardUID }) };
      const c = call('POST', 'api/annotations', body, opts.signal);
      const answer = parseAnswer(c, await callJson(c));
      const id = typeof answer === 'object' && answer !== null ? (answer as { id?: unknown }).id : undefined;
      if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
        throw new IntegrationError('grafana', 'invalid_response', `grafana answered an annotation without an id: ${JSON.stringify(answer)}`);
      }
      return id;
    },
    async patchAnnotation(id, patch, opts = {}) {
      const body = { ...patch, ...(patch.tags === undefined ? {} : { tags: [...patch.tags] }) };
      await callJson(call('PATCH', `api/annotations/${id}`, body, opts.signal));
    },
  };
}

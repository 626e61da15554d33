/** One JSON HTTP call to a reporting integration, bounded by a deadline, failing only with IntegrationError. */

import { toError } from '../core/errors.js';
import { IntegrationError, type Integration } from './integration-error.js';

/** A request to make. */
export interface JsonCall {
  readonly integration: Integration;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON when set. */
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** A 2xx answer: its status and body text. */
export interface JsonAnswer {
  readonly status: number;
  readonly text: string;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const ERROR_BODY_CHARS = 1024;

/** Makes the call; a non-2xx answer, a transport failure or the deadline rejects with an IntegrationError. */
export async function callJson(call: JsonCall): Promise<JsonAnswer> {
  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let status: number;
  let text: string;
  try {
    const response = await fetch(call.url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal,
      redirect: 'manual',
    });
    status = response.status;
    text = await readBounded(response, call);
  } catch (thrown) {
    throw transportError(thrown, call, deadline);
  }
  if (status < 200 || status >= 300) {
    const body = text.slice(0, ERROR_BODY_CHARS);
    throw new IntegrationError(call.integration, 'http', `${where(call)} answered HTTP ${status}: ${body.trim()}`, { status, body });
  }
  return { status, text };
}

/** Parses a 2xx answer's JSON; a body that is not JSON is an invalid_response. */
export function parseAnswer(call: Pick<JsonCall, 'integration' | 'method' | 'url'>, answer: JsonAnswer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch (thrown) {
    const body = answer.text.slice(0, ERROR_BODY_CHARS);
    throw new IntegrationError(call.integration, 'invalid_response', `${where(call)} answered something that is not JSON: ${body}`, {
      status: answer.status,
      body,
      cause: toError(thrown),
    });
  }
}

function where(call: Pick<JsonCall, 'integration' | 'method' | 'url'>): string {
  return `${call.integration} (${call.method} ${call.url.pathname})`;
}

async function readBounded(response: Response, call: JsonCall): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => undefined);
      throw new IntegrationError(call.integration, 'invalid_response', `${where(call)} answered more than ${MAX_BODY_BYTES} bytes`, {
        status: response.status,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportError(thrown: unknown, call: JsonCall, deadline: AbortSignal): IntegrationError {
  if (thrown instanceof IntegrationError) return thrown;
  const err = toError(thrown);
  if (call.signal?.aborted) return new IntegrationError(call.integration, 'canceled', `the call to ${where(call)} was canceled`, { cause: err });
  if (deadline.aborted) {
    return new IntegrationError(call.integration, 'timeout', `${where(call)} did not answer within ${call.timeoutMs} ms`, { cause: err });
  }
  // fetch says "fetch failed" and keeps the socket error (ECONNREFUSED...) as its cause.
  const reason = err.cause === undefined ? err.message : toError(err.cause).message;
  return new IntegrationError(call.integration, 'unavailable', `${where(call)} is unavailable: ${reason}`, { cause: err });
}

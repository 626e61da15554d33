/** The payload `remediator explain` reads: an Alertmanager webhook body, or a bare array of its alerts. */

import type { Alert } from '../core/alert.js';
import { RemediatorError, toError } from '../core/errors.js';
import { parseWebhookBody } from '../receive/webhook-payload.js';

/**
 * Parses the payload text with the webhook's own checks, so that explain refuses what the service would refuse;
 * a bare JSON array is taken as the `alerts` of a version "4" body, for alerts copied out of Alertmanager's API.
 */
export function readPayload(text: string): readonly Alert[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RemediatorError('BAD_JSON', `the payload is not valid JSON: ${toError(err).message}`, { cause: err });
  }
  if (Array.isArray(raw)) return parseWebhookBody(JSON.stringify({ version: '4', status: 'firing', alerts: raw })).alerts;
  return parseWebhookBody(text).alerts;
}

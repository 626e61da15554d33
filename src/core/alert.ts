/** One alert as Alertmanager sent it, split out of a webhook body. */

/** A label or annotation map; built with a null prototype so no key can reach Object.prototype. */
export type LabelSet = Readonly<Record<string, string>>;

export type AlertStatus = 'firing' | 'resolved';

export interface Alert {
  readonly status: AlertStatus;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  /** RFC 3339 as received: with the fingerprint it names one firing episode. */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  /** 16 hex digits, a hash of the label set only. */
  readonly fingerprint: string;
}

/** Builds a frozen, null-prototype label map from entries. */
export function labelSet(entries: Iterable<readonly [string, string]>): LabelSet {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) out[k] = v;
  return Object.freeze(out);
}

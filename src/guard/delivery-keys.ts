/** The keys one delivery's guard will read, known before deciding any pair: episodes, (runbook, target) pairs, runbooks. */

import type { Alert } from '../core/alert.js';
import { canonicalInstant } from '../core/instant.js';
import type { Runbook } from '../core/runbook.js';
import { episodeKeyString, type DeliveryIO, type DeliveryKeys, type EpisodeKey, type HeldRead } from '../history/run-store.js';
import { render, stillFiringDue } from './decide-firing.js';

type Matched = readonly (readonly [Alert, readonly Runbook[]])[];

function episodeKey(alert: Alert, runbook: Runbook | null): EpisodeKey {
  return { runbook: runbook?.name ?? null, fingerprint: alert.fingerprint, startsAt: canonicalInstant(alert.startsAt) ?? alert.startsAt };
}

/**
 * The firing pairs whose decision is already known from a lock-free read (DeliveryIO.readHeld): a repeat of an episode a
 * run holds, not resolved, that cannot escalate `still_firing` now. Each is a `duplicate` whatever commits meanwhile, so
 * it needs no lock and none of the pair's or runbook's facts. By episodeKeyString.
 */
export async function settledPairs(io: DeliveryIO, matched: Matched, now: number): Promise<ReadonlyMap<string, HeldRead>> {
  const firing = matched.flatMap(([alert, runbooks]) => (alert.status === 'firing' ? runbooks.map((rb) => [rb, episodeKey(alert, rb)] as const) : []));
  if (firing.length === 0) return new Map();
  const held = await io.readHeld(firing.map(([, episode]) => episode));
  const settled = new Map<string, HeldRead>();
  for (const [runbook, episode] of firing) {
    const key = episodeKeyString(episode.runbook, episode.fingerprint, episode.startsAt);
    const holder = held.get(key);
    if (holder === undefined || holder.resolved) continue;
    if (stillFiringDue(runbook, holder, now) && !holder.stillFiringEscalated) continue;
    settled.set(key, holder);
  }
  return settled;
}

/** Every key the pairs of `matched` may touch at time `now` (the transaction's now), leaving out the firing pairs of `settled` episodes. */
export function deliveryKeys(matched: Matched, now: number, settled: ReadonlyMap<string, unknown> = new Map()): DeliveryKeys {
  const episodes: EpisodeKey[] = [];
  const pairs = new Map<string, DeliveryKeys['pairs'][number]>();
  const runbooks = new Map<string, DeliveryKeys['runbooks'][number]>();
  for (const [alert, matches] of matched) {
    if (matches.length === 0) episodes.push(episodeKey(alert, null));
    for (const runbook of matches) {
      const episode = episodeKey(alert, runbook);
      if (alert.status === 'firing' && settled.has(episodeKeyString(episode.runbook, episode.fingerprint, episode.startsAt))) continue;
      episodes.push(episode);
      if (alert.status !== 'firing' || runbook.mode === 'shadow') continue;
      const rendered = render(runbook, alert);
      if (rendered === null) continue;
      pairs.set(`${runbook.name}\u0000${rendered.target}`, { runbook: runbook.name, target: rendered.target, attemptsSinceMs: now - runbook.safety.maxAttempts.perMs });
      runbooks.set(runbook.name, { runbook: runbook.name, targetsSinceMs: now - runbook.safety.fleetBreaker.perMs });
    }
  }
  return { episodes, pairs: [...pairs.values()], runbooks: [...runbooks.values()] };
}

/** The secrets a run's plan names (its http steps' header files), read so that any step of the run is scrubbed of them. */

import type { Plan } from '../core/runbook.js';
import { readSecretFile, type ReadSecret } from './http/header-values.js';

/** Reads every header file of the plan's http steps, as an http step would send it (trimmed, and with its prefix); an unreadable file is skipped. */
export async function readPlanSecrets(plan: Pick<Plan, 'tiers'>, readSecret: ReadSecret = readSecretFile): Promise<string[]> {
  const files = new Map<string, Set<string>>();
  for (const tier of plan.tiers) {
    for (const step of [...tier.steps, ...tier.onFailure]) {
      for (const value of Object.values(step.http?.headers ?? {})) {
        if (typeof value === 'string') continue;
        const prefixes = files.get(value.file) ?? new Set<string>();
        prefixes.add(value.prefix ?? '');
        files.set(value.file, prefixes);
      }
    }
  }
  const secrets: string[] = [];
  for (const [file, prefixes] of files) {
    let content: string;
    try {
      content = (await readSecret(file)).trim();
    } catch {
      // The http step itself reports an unreadable file; here it only has nothing to add.
      continue;
    }
    secrets.push(content, ...[...prefixes].map((p) => `${p}${content}`));
  }
  return secrets;
}

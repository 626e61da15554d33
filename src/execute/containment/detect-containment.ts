/** Picks, once at start-up, the strongest containment this host offers for local steps. */

import type { Logger } from 'pino';
import { detectCgroupContainment } from './cgroup-v2.js';
import { CONTAINMENT_KINDS, type Containment, type ContainmentKind } from './containment.js';
import { detectPidNamespaceContainment } from './pid-namespace.js';
import { processGroupContainment } from './process-group.js';

/** What detection may try, in order (tests force one kind), and where it logs its choice. */
export interface DetectOptions {
  readonly order?: readonly ContainmentKind[];
  readonly logger?: Logger;
}

/** The first kind in order the host offers; throws when none is (possible only when the order leaves out process-group). */
export function detectContainment(options: DetectOptions = {}): Containment {
  const skipped: Array<{ kind: ContainmentKind; reason: string }> = [];
  for (const kind of options.order ?? CONTAINMENT_KINDS) {
    const found = probe(kind);
    if (typeof found === 'string') {
      skipped.push({ kind, reason: found });
      continue;
    }
    options.logger?.info({ containment: found.kind, detail: found.detail, skipped }, 'local step containment');
    return found;
  }
  throw new Error(`no containment of ${(options.order ?? CONTAINMENT_KINDS).join(', ')} is available: ${skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ')}`);
}

function probe(kind: ContainmentKind): Containment | string {
  if (kind === 'cgroup') return detectCgroupContainment();
  if (kind === 'pid-namespace') return detectPidNamespaceContainment();
  return processGroupContainment;
}

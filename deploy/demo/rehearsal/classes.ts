/** The six fault classes in the order a rehearsal injects them, each on its own host. */
import type { FaultClassSpec } from './episode.js';
import { MODEL } from './topology.js';

/** The fault classes of `npm run rehearse`, by name (the runbooks' faultClass). */
export const FAULT_CLASSES: readonly FaultClassSpec[] = [
  { faultClass: 'hung', runbook: 'llm-hung-server', fault: { kind: 'hung', host: 'gpu-3', model: MODEL } },
  { faultClass: 'down', runbook: 'llm-server-down', fault: { kind: 'down', host: 'gpu-2', model: MODEL } },
  { faultClass: 'oom', runbook: 'gpu-oom', fault: { kind: 'oom', host: 'gpu-1', model: MODEL, recurring: true, rampSeconds: 4, holdSeconds: 30 } },
  { faultClass: 'queue-backlog', runbook: 'llm-queue-backlog', fault: { kind: 'backlog', model: MODEL, rate: 120, seconds: 600 } },
  { faultClass: 'version-mismatch', runbook: 'model-version-mismatch', fault: { kind: 'version-skew', host: 'gpu-2', model: MODEL, version: '0.10.2' } },
  // Xid 79 (fallen off the bus): a reset does not bring it back, so the ladder ends with the GPU cordoned and a person told.
  { faultClass: 'gpu-xid', runbook: 'gpu-xid', fault: { kind: 'xid', host: 'gpu-1', gpu: 0, code: 79, resetFixes: false }, approve: true },
];

/** The spec of one fault class, or an error naming the known ones. */
export function faultClass(name: string): FaultClassSpec {
  const spec = FAULT_CLASSES.find((c) => c.faultClass === name);
  if (!spec) throw new Error(`unknown fault class "${name}" (known: ${FAULT_CLASSES.map((c) => c.faultClass).join(', ')})`);
  return spec;
}

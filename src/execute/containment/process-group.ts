/** Process-group containment, the fallback: the step leads its own group, killed whole; what leaves the group (setsid) escapes it. */

import { signalGroup } from '../proc-stat.js';
import type { Containment } from './containment.js';

/** The containment every host offers. */
export const processGroupContainment: Containment = {
  kind: 'process-group',
  detail: 'kill(-pgid)',
  open: async () => ({
    cgroup: null,
    wrap: (line) => line,
    spawnInside: (spawn) => spawn(),
    signal: (pgid, signal) => void signalGroup(pgid, signal),
    release: (pgid) => {
      signalGroup(pgid, 'SIGKILL');
      return Promise.resolve();
    },
  }),
};

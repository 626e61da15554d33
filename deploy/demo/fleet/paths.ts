/** Where the repository and the compiled demo are, from a module's own URL (compiled under build/demo/ or run as TypeScript). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root for a module at `moduleUrl` (its import.meta.url) under deploy/demo/<folder>/. */
export function repoRoot(moduleUrl: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const marker = `${path.sep}build${path.sep}demo${path.sep}`;
  return here.includes(marker) ? here.slice(0, here.indexOf(marker)) : path.resolve(here, '..', '..', '..');
}

/** A compiled demo file, e.g. compiled('deploy/demo/fleet/supervisor.js'). */
export function compiled(moduleUrl: string, relative: string): string {
  return path.join(repoRoot(moduleUrl), 'build', 'demo', relative);
}

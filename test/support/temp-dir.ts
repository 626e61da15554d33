/** Fresh temporary folders for the files real components need. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Creates a new empty folder under the OS temp dir. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `remediator-${prefix}-`));
}

/** Removes a folder made by makeTempDir unless KEEP_TEST_DIRS is set (for post-mortems). */
export function removeTempDir(dir: string): void {
  if (process.env.KEEP_TEST_DIRS) return;
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

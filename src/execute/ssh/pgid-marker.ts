/** Takes the remote shell's process-group report out of its stderr before the output is captured. */

import { PassThrough, type Readable } from 'node:stream';
import { pgidMarker, type Containment } from './remote-command-line.js';

/** Login scripts may print before our marker; past this much stderr without it, stop looking. */
const SEARCH_LIMIT = 64 * 1024;

/** What the remote shell reported about the step it started. */
export interface RemoteGroup {
  readonly pgid: number;
  readonly containment: Containment;
}

const REPORT = /^([0-9]{1,10})(?::(system|user|none))?$/;

/**
 * Returns the stderr the step really wrote. The marker line (`remediator-pgid-NONCE:PGID:CONTAINMENT`)
 * is removed wherever it appears in the first bytes, and what it says handed to `onGroup` once.
 */
export function stripPgidMarker(stderr: Readable, nonce: string, onGroup: (group: RemoteGroup) => void): Readable {
  const out = new PassThrough();
  const marker = Buffer.from(pgidMarker(nonce));
  let pending: Buffer | null = Buffer.alloc(0);
  const search = (): void => {
    if (pending === null) return;
    const at = pending.indexOf(marker);
    const eol = at < 0 ? -1 : pending.indexOf(0x0a, at + marker.length);
    if (at >= 0 && eol >= 0) {
      const digits = pending.subarray(at + marker.length, eol).toString('latin1');
      const before = pending.subarray(0, at);
      const after = pending.subarray(eol + 1);
      pending = null;
      const report = REPORT.exec(digits);
      if (report !== null) onGroup({ pgid: Number(report[1]), containment: (report[2] as Containment | undefined) ?? 'none' });
      out.write(Buffer.concat([before, after]));
    } else if (pending.length > SEARCH_LIMIT) {
      out.write(pending);
      pending = null;
    }
  };
  stderr.on('data', (chunk: Buffer) => {
    if (pending === null) {
      out.write(chunk);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    search();
  });
  let ended = false;
  const finish = (): void => {
    if (ended) return;
    ended = true;
    if (pending !== null && pending.length > 0) out.write(pending);
    pending = null;
    out.end();
  };
  stderr.once('end', finish);
  stderr.once('close', finish);
  stderr.once('error', finish);
  return out;
}

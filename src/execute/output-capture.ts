/** Bounded capture of a child's output stream. */

import type { Readable } from 'node:stream';

/** What a stream produced, its first bytes kept. */
export interface CapturedOutput {
  /** Settles when the stream ended, closed or failed. */
  readonly done: Promise<void>;
  /** The kept bytes decoded as UTF-8 (a character cut at the cap becomes U+FFFD). */
  text(): string;
  truncated(): boolean;
}

/**
 * Keeps the first `maxBytes` of a stream and reads on, discarding the rest, so that a chatty
 * command is never blocked on a full pipe nor killed for its volume.
 */
export function captureOutput(stream: Readable | null, maxBytes: number): CapturedOutput {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  const done = new Promise<void>((resolve) => {
    if (stream === null) {
      resolve();
      return;
    }
    stream.on('data', (chunk: Buffer) => {
      const room = maxBytes - kept;
      if (chunk.length <= room) {
        chunks.push(chunk);
        kept += chunk.length;
        return;
      }
      if (room > 0) {
        chunks.push(chunk.subarray(0, room));
        kept += room;
      }
      truncated = true;
    });
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
  return {
    done,
    text: () => Buffer.concat(chunks, kept).toString('utf8'),
    truncated: () => truncated,
  };
}

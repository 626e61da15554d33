import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from './logger.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON lines with errors under err and credentials redacted', () => {
    const { lines, stream } = capture();
    const log = createLogger({ destination: stream });
    log.info({ req: { headers: { authorization: 'Bearer s3cret' } }, password: 'hunter2', runId: 'r1' }, 'request');
    log.error({ err: new Error('boom') }, 'failed');
    expect(lines[0]).toMatchObject({ msg: 'request', runId: 'r1', password: '[REDACTED]', req: { headers: { authorization: '[REDACTED]' } } });
    expect(JSON.stringify(lines[0])).not.toContain('s3cret');
    expect(lines[1]).toMatchObject({ msg: 'failed', err: { message: 'boom', type: 'Error' } });
  });
});

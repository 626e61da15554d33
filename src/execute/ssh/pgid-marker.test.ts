import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { captureOutput } from '../output-capture.js';
import { stripPgidMarker } from './pgid-marker.js';

/** Feeds the chunks through stripPgidMarker; returns the stderr left and the pgids reported. */
async function strip(chunks: readonly (string | Buffer)[]): Promise<{ text: string; pgids: number[] }> {
  const source = new PassThrough();
  const pgids: number[] = [];
  const out = captureOutput(stripPgidMarker(source, 'abc', (g) => pgids.push(g.pgid)), 1 << 20);
  for (const chunk of chunks) source.write(chunk);
  source.end();
  await out.done;
  return { text: out.text(), pgids };
}

describe('stripPgidMarker', () => {
  it.each([
    ['alone', ['remediator-pgid-abc:4242\n'], ''],
    ['before the output', ['remediator-pgid-abc:4242\nwarn\n'], 'warn\n'],
    ['after login noise', ['motd line\nremediator-pgid-abc:4242\nwarn\n'], 'motd line\nwarn\n'],
    ['split across chunks', ['remedia', 'tor-pgid-a', 'bc:42', '42', '\nwarn', '\n'], 'warn\n'],
    ['inside a partial line of the command', ['abc', 'remediator-pgid-abc:4242\n', 'def\n'], 'abcdef\n'],
  ])('takes the marker out when it comes %s and reports the group once', async (_where, chunks, text) => {
    expect(await strip(chunks)).toEqual({ text, pgids: [4242] });
  });

  it('leaves a marker with another nonce, or a second marker, in the output', async () => {
    const result = await strip(['remediator-pgid-zzz:1\nremediator-pgid-abc:7\nremediator-pgid-abc:8\n']);
    expect(result).toEqual({ text: 'remediator-pgid-zzz:1\nremediator-pgid-abc:8\n', pgids: [7] });
  });

  it('passes everything through, unreported, when no marker comes in the first 64 KiB', async () => {
    const noise = 'x'.repeat(70 * 1024);
    const result = await strip([noise, 'remediator-pgid-abc:9\n']);
    expect(result.pgids).toEqual([]);
    expect(result.text).toBe(`${noise}remediator-pgid-abc:9\n`);
  });

  it.each([
    ['remediator-pgid-abc:4242:user\n', 'user'],
    ['remediator-pgid-abc:4242:system\n', 'system'],
    ['remediator-pgid-abc:4242:none\n', 'none'],
    ['remediator-pgid-abc:4242\n', 'none'],
  ])('reads the containment from %j as %s', async (line, containment) => {
    const source = new PassThrough();
    const groups: unknown[] = [];
    const out = captureOutput(stripPgidMarker(source, 'abc', (g) => groups.push(g)), 1024);
    source.end(line);
    await out.done;
    expect(groups).toEqual([{ pgid: 4242, containment }]);
    expect(out.text()).toBe('');
  });

  it('ignores a marker whose containment is not one it knows', async () => {
    expect(await strip(['remediator-pgid-abc:1:other\n'])).toEqual({ text: '', pgids: [] });
  });

  it('ignores a marker whose group is not digits', async () => {
    expect(await strip(['remediator-pgid-abc:1;rm\n'])).toEqual({ text: '', pgids: [] });
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { parseConfigText, resolveConfig } from './config/config.js';
import { checkExposure } from './main.js';
import { createLogger } from './observability/logger.js';

const silent = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
const config = (text: string) => resolveConfig(parseConfigText(text, null), null, '/srv');

describe('checkExposure', () => {
  it('refuses to serve an open role on a non-loopback address', () => {
    expect(() => checkExposure(config('listen: 0.0.0.0:9095\n'), silent)).toThrow(/refusing to serve without auth for webhook, read, operate on 0\.0\.0\.0/);
  });

  it('serves open on a non-loopback address when told to', () => {
    expect(() => checkExposure(config('listen: 0.0.0.0:9095\nauth: { allowUnauthenticated: true }\n'), silent)).not.toThrow();
  });

  it('serves open on loopback with a warning', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    expect(() => checkExposure(config(''), log)).not.toThrow();
    expect(lines.join('')).toContain('serving without authentication');
  });
});

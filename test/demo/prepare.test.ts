import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { adaptRunbook } from '../../deploy/demo/rehearsal/prepare.js';

const shipped = fs.readFileSync(path.join(process.cwd(), 'runbooks', 'llm-server-down.yaml'), 'utf8');
type Safety = { cooldown: string; maxAttempts: { per: string }; fleetBreaker: { per: string } };
const safety = (text: string): Safety => (YAML.parse(text) as { safety: Safety }).safety;

describe('adaptRunbook', () => {
  it('scales every duration by the time scale, enforces, and leaves the rest as shipped', () => {
    const adapted = adaptRunbook(shipped, { gatewayUrl: 'http://127.0.0.1:1', timeScale: 0.1 });
    expect(safety(adapted)).toMatchObject({ cooldown: '30s', maxAttempts: { per: '6m' }, fleetBreaker: { per: '1m' } });
    expect((YAML.parse(adapted) as { mode: string }).mode).toBe('enforce');
    expect((YAML.parse(adapted) as { tiers: unknown[] }).tiers).toHaveLength((YAML.parse(shipped) as { tiers: unknown[] }).tiers.length);
  });

  it('scales the attempt budget window alone by budgetWindowScale', () => {
    const adapted = adaptRunbook(shipped, { gatewayUrl: 'http://127.0.0.1:1', timeScale: 0.05, budgetWindowScale: 0.1 });
    expect(safety(adapted)).toMatchObject({ cooldown: '15s', maxAttempts: { per: '6m' }, fleetBreaker: { per: '30s' } });
  });
});

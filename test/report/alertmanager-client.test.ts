import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createAlertmanagerClient, type AlertmanagerClient, type SilenceSpec } from '../../src/report/alertmanager-client.js';
import { IntegrationError } from '../../src/report/integration-error.js';
import { stopAll } from '../support/child.js';
import { listSilences, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

function spec(over: Partial<SilenceSpec> = {}): SilenceSpec {
  const now = Date.now();
  return {
    matchers: [{ name: 'alertname', value: 'VllmQueueBacklog', isRegex: false, isEqual: true }],
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + 60_000).toISOString(),
    createdBy: 'remediator',
    comment: 'client test',
    ...over,
  };
}

describe('the Alertmanager client against a real Alertmanager 0.25', () => {
  let receiver: WebhookReceiver;
  let am: AlertmanagerHandle;
  let client: AlertmanagerClient;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/hook` });
    client = createAlertmanagerClient({ url: am.url, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await am?.stop();
    await receiver?.close();
    await stopAll();
  });

  it('creates a silence, extends it under the same id with the startsAt Alertmanager stored, and expires it', async () => {
    const id = await client.createSilence(spec());
    const stored = await client.getSilence(id);
    expect(stored).toMatchObject({ id, status: { state: 'active' }, createdBy: 'remediator' });
    const later = new Date(Date.now() + 300_000).toISOString();
    expect(await client.createSilence({ ...spec({ startsAt: stored?.startsAt ?? '', endsAt: later }), id })).toBe(id);
    expect(Date.parse((await client.getSilence(id))?.endsAt ?? '')).toBe(Date.parse(later));
    expect(await client.expireSilence(id)).toBe('expired');
    expect(await client.expireSilence(id)).toBe('expired');
    expect((await listSilences(am.url)).find((s) => s.id === id)?.status.state).toBe('expired');
  });

  it('gets a new id when the matchers change, and Alertmanager expires the old silence', async () => {
    const id = await client.createSilence(spec());
    const stored = await client.getSilence(id);
    const replaced = await client.createSilence({ ...spec({ startsAt: stored?.startsAt ?? '', matchers: [{ name: 'instance', value: 'gpu-1', isRegex: false }] }), id });
    expect(replaced).not.toBe(id);
    expect((await client.getSilence(id))?.status.state).toBe('expired');
    await client.expireSilence(replaced);
  });

  it('treats the expiry of a silence Alertmanager does not know as gone (0.25 answers 500 "silence not found")', async () => {
    expect(await client.expireSilence('0b4f6a52-3c1e-4f7e-9a0a-6a1f1c2d3e4f')).toBe('gone');
    expect(await client.getSilence('0b4f6a52-3c1e-4f7e-9a0a-6a1f1c2d3e4f')).toBeNull();
  });

  it.each([
    ['a silence ending in the past', () => client.createSilence(spec({ endsAt: new Date(Date.now() - 60_000).toISOString() })), 400],
    ['a silence without matchers', () => client.createSilence(spec({ matchers: [] })), 422],
    ['an id that is not a UUID', () => client.expireSilence('not-a-uuid'), 422],
  ])('rejects %s with a typed error carrying status and body', async (_what, call, status) => {
    const error = await call().then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(IntegrationError);
    expect(error).toMatchObject({ integration: 'alertmanager', kind: 'http', status, retryable: false });
    expect((error as IntegrationError).body).not.toBe('');
  });

  it('posts alerts and lists them with a matcher filter', async () => {
    await client.postAlerts([{ labels: { alertname: 'ClientProbe', instance: 'gpu-9' }, annotations: { summary: 'probe' } }]);
    const alerts = await client.getAlerts({ filter: ['alertname="ClientProbe"'] });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ labels: { alertname: 'ClientProbe', instance: 'gpu-9' }, annotations: { summary: 'probe' } });
  });

  it('fails with a timeout or unavailable error, never hangs, when Alertmanager is unreachable', async () => {
    const dead = createAlertmanagerClient({ url: 'http://127.0.0.1:1', timeoutMs: 500 });
    await expect(dead.postAlerts([{ labels: { alertname: 'X' } }])).rejects.toMatchObject({ kind: 'unavailable', retryable: true });
  });
});

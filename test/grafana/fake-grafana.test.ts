import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { startFakeGrafana, type FakeGrafana } from './fake-grafana.js';

/** A raw call, as any Grafana client would make it. */
async function call(g: FakeGrafana, method: string, path: string, body?: unknown, token: string | null = g.token): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${g.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as unknown) };
}

async function created(g: FakeGrafana, body: unknown): Promise<number> {
  const res = await call(g, 'POST', '/api/annotations', body);
  expect(res).toEqual({ status: 200, json: { message: 'Annotation added', id: expect.any(Number) } });
  return (res.json as { id: number }).id;
}

describe('the fake Grafana annotations API', () => {
  let g: FakeGrafana;
  beforeEach(async () => {
    g = await startFakeGrafana({ dashboards: ['remediation-dash'] });
  });
  afterEach(async () => {
    await g.close();
  });

  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'not-the-token'],
  ])('answers 401 with %s', async (_what, token) => {
    const res = await call(g, 'POST', '/api/annotations', { time: 1, text: 'x' }, token);
    expect(res).toEqual({ status: 401, json: { message: 'Unauthorized' } });
    expect(g.annotations.size).toBe(0);
  });

  it.each([
    ['text missing', { time: 1000 }],
    ['text empty', { time: 1000, text: '' }],
    ['time and timeEnd missing', { text: 'x' }],
    ['time and timeEnd both 0', { text: 'x', time: 0, timeEnd: 0 }],
  ])('refuses a create with %s as 400 "Failed to save annotation"', async (_what, body) => {
    expect(await call(g, 'POST', '/api/annotations', body)).toEqual({ status: 400, json: { message: 'Failed to save annotation' } });
    expect(g.annotations.size).toBe(0);
  });

  it.each([
    ['a body that is not JSON', 'not json'],
    ['tags that are not strings', { text: 'x', time: 1, tags: [1] }],
    ['a time that is a string', { text: 'x', time: '1000' }],
  ])('refuses %s as "bad request data"', async (_what, body) => {
    expect(await call(g, 'POST', '/api/annotations', body)).toEqual({ status: 400, json: { message: 'bad request data' } });
  });

  it.each([
    ['only time', { time: 5000 }, [5000, 5000]],
    ['only timeEnd', { timeEnd: 7000 }, [7000, 7000]],
    ['a reversed range', { time: 9000, timeEnd: 3000 }, [3000, 9000]],
    ['a region', { time: 3000, timeEnd: 9000 }, [3000, 9000]],
  ])('normalises %s as Grafana does', async (_what, times, [time, timeEnd]) => {
    const id = await created(g, { text: 'deploy', tags: ['a'], ...times });
    const res = await call(g, 'GET', `/api/annotations/${id}`);
    expect(res.json).toMatchObject({ id, time, timeEnd, text: 'deploy', tags: ['a'] });
  });

  it('gives each annotation a new id and files an unknown dashboardUID as an organization annotation', async () => {
    const known = await created(g, { text: 'a', time: 1, dashboardUID: 'remediation-dash', panelId: 2 });
    const unknown = await created(g, { text: 'b', time: 2, dashboardUID: 'no-such-dash', panelId: 2 });
    expect(unknown).toBeGreaterThan(known);
    expect((await call(g, 'GET', `/api/annotations/${known}`)).json).toMatchObject({ dashboardUID: 'remediation-dash', panelId: 2 });
    expect((await call(g, 'GET', `/api/annotations/${unknown}`)).json).toMatchObject({ dashboardUID: null, dashboardId: 0, panelId: 2 });
  });

  it('patches only the fields set: tags replace the list, empty text and zero times are ignored', async () => {
    const id = await created(g, { text: 'started', time: 1000, tags: ['remediator', 'runbook:x'] });
    expect(await call(g, 'PATCH', `/api/annotations/${id}`, { text: '', time: 0, timeEnd: 4000, tags: ['outcome:failed'] })).toEqual({
      status: 200,
      json: { message: 'Annotation patched' },
    });
    expect((await call(g, 'GET', `/api/annotations/${id}`)).json).toMatchObject({ text: 'started', time: 1000, timeEnd: 4000, tags: ['outcome:failed'] });
  });

  it.each([
    ['PATCH', { text: 'x' }],
    ['GET', undefined],
    ['DELETE', undefined],
  ])('answers %s of an unknown id with 404', async (method, body) => {
    expect(await call(g, method, '/api/annotations/999', body)).toEqual({ status: 404, json: { message: 'Annotation not found' } });
  });

  it('deletes an annotation', async () => {
    const id = await created(g, { text: 'x', time: 1 });
    expect(await call(g, 'DELETE', `/api/annotations/${id}`)).toEqual({ status: 200, json: { message: 'Annotation deleted' } });
    expect(g.annotations.has(id)).toBe(false);
  });

  it('finds annotations by overlap with from/to, by tags (AND, or OR with matchAny), dashboard and limit, newest first', async () => {
    const a = await created(g, { text: 'a', time: 1000, timeEnd: 2000, tags: ['remediator', 'outcome:failed'] });
    const b = await created(g, { text: 'b', time: 3000, timeEnd: 4000, tags: ['remediator'], dashboardUID: 'remediation-dash' });
    const c = await created(g, { text: 'c', time: 5000, tags: ['other'] });
    const ids = async (query: string): Promise<number[]> => ((await call(g, 'GET', `/api/annotations?${query}`)).json as { id: number }[]).map((x) => x.id);
    expect(await ids('')).toEqual([c, b, a]);
    expect(await ids('from=1500&to=3500')).toEqual([b, a]);
    expect(await ids('tags=remediator&tags=outcome:failed')).toEqual([a]);
    expect(await ids('tags=outcome:failed&tags=other&matchAny=true')).toEqual([c, a]);
    expect(await ids('dashboardUID=remediation-dash')).toEqual([b]);
    expect(await ids('type=alert')).toEqual([]);
    expect(await ids('type=annotation&limit=2')).toEqual([c, b]);
  });

  it('refuses connections when told to, and serves again on the same port afterwards', async () => {
    await g.setMode('refuse');
    await expect(call(g, 'GET', '/api/annotations')).rejects.toThrow(/fetch failed/);
    await g.setMode('up');
    expect((await call(g, 'GET', '/api/annotations')).status).toBe(200);
  });

  it('answers 500 to everything when told to', async () => {
    await g.setMode('error500');
    expect((await call(g, 'POST', '/api/annotations', { text: 'x', time: 1 })).status).toBe(500);
    expect(g.annotations.size).toBe(0);
  });

  it('never answers when told to hang', async () => {
    await g.setMode('hang');
    const res = fetch(`${g.url}/api/annotations`, { headers: { authorization: `Bearer ${g.token}` }, signal: AbortSignal.timeout(300) });
    await expect(res).rejects.toThrow(/timeout|aborted/i);
    expect(g.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/annotations', status: null });
  });
});

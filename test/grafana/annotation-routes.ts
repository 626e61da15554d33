/** The fake Grafana's annotation routes, following pkg/api/annotations.go and the documented API (contracts.md §3). */

/** An annotation as GET /api/annotations answers it (Grafana's ItemDTO, alert fields left out). */
export interface AnnotationItem {
  id: number;
  alertId: number;
  dashboardId: number;
  dashboardUID: string | null;
  panelId: number;
  userId: number;
  login: string;
  created: number;
  updated: number;
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
  data: unknown;
}

/** What the fake keeps. */
export interface GrafanaState {
  readonly annotations: Map<number, AnnotationItem>;
  nextId: number;
  readonly dashboards: readonly string[];
}

/** A status and a JSON body. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const FAILED_SAVE: Answer = { status: 400, body: { message: 'Failed to save annotation' } };
const BAD_DATA: Answer = { status: 400, body: { message: 'bad request data' } };
const NOT_FOUND: Answer = { status: 404, body: { message: 'Annotation not found' } };

/** Answers one authenticated request under /api/annotations. */
export function handleAnnotations(state: GrafanaState, method: string, url: URL, text: string): Answer {
  const byId = /^\/api\/annotations\/([^/]+)$/.exec(url.pathname);
  if (url.pathname === '/api/annotations') {
    if (method === 'POST') return create(state, text);
    if (method === 'GET') return { status: 200, body: find(state, url.searchParams) };
  } else if (byId !== null) {
    const id = Number(byId[1]);
    if (!Number.isSafeInteger(id)) return { status: 400, body: { message: 'annotationId is invalid' } };
    const item = state.annotations.get(id);
    if (method === 'GET') return item ? { status: 200, body: item } : NOT_FOUND;
    if (method === 'PATCH') return item ? patch(item, text) : NOT_FOUND;
    if (method === 'DELETE') {
      if (!item) return NOT_FOUND;
      state.annotations.delete(id);
      return { status: 200, body: { message: 'Annotation deleted' } };
    }
  }
  return { status: 404, body: { message: 'Not found' } };
}

/** The JSON body as an object, or null when it is not one (Grafana's binding answers "bad request data"). */
function bind(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Reads an optional field of Go type `t`; undefined when absent or null, an error marker when of the wrong type. */
function field<T>(body: Record<string, unknown>, name: string, check: (v: unknown) => v is T): T | undefined | 'invalid' {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  return check(value) ? value : 'invalid';
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isTags = (v: unknown): v is string[] => Array.isArray(v) && v.every((t) => typeof t === 'string');

/** validateTimeRange: neither set is an error; one set copies to the other; a reversed pair is swapped. */
function normaliseRange(time: number, timeEnd: number): [number, number] | null {
  if (time === 0 && timeEnd === 0) return null;
  if (time === 0) return [timeEnd, timeEnd];
  if (timeEnd === 0) return [time, time];
  return time > timeEnd ? [timeEnd, time] : [time, timeEnd];
}

function create(state: GrafanaState, text: string): Answer {
  const body = bind(text);
  if (body === null) return BAD_DATA;
  const fields = {
    text: field(body, 'text', isString),
    time: field(body, 'time', isInt),
    timeEnd: field(body, 'timeEnd', isInt),
    tags: field(body, 'tags', isTags),
    dashboardUID: field(body, 'dashboardUID', isString),
    dashboardId: field(body, 'dashboardId', isInt),
    panelId: field(body, 'panelId', isInt),
  };
  if (Object.values(fields).includes('invalid')) return BAD_DATA;
  const f = fields as { [K in keyof typeof fields]: Exclude<(typeof fields)[K], 'invalid'> };
  if (!f.text) return FAILED_SAVE;
  const range = normaliseRange(f.time ?? 0, f.timeEnd ?? 0);
  if (range === null) return FAILED_SAVE;
  // An unknown dashboardUID is not an error: the lookup failure is ignored and the annotation belongs to the organization.
  const dashboardIndex = f.dashboardUID === undefined ? -1 : state.dashboards.indexOf(f.dashboardUID);
  const id = state.nextId++;
  const now = Date.now();
  state.annotations.set(id, {
    id,
    alertId: 0,
    dashboardId: dashboardIndex >= 0 ? dashboardIndex + 1 : f.dashboardUID === undefined ? (f.dashboardId ?? 0) : 0,
    dashboardUID: dashboardIndex >= 0 ? (f.dashboardUID ?? null) : null,
    panelId: f.panelId ?? 0,
    userId: 1,
    login: 'sa-remediator',
    created: now,
    updated: now,
    time: range[0],
    timeEnd: range[1],
    text: f.text,
    tags: f.tags ?? [],
    data: body.data ?? {},
  });
  return { status: 200, body: { message: 'Annotation added', id } };
}

function patch(item: AnnotationItem, text: string): Answer {
  const body = bind(text);
  if (body === null) return BAD_DATA;
  const fields = { text: field(body, 'text', isString), time: field(body, 'time', isInt), timeEnd: field(body, 'timeEnd', isInt), tags: field(body, 'tags', isTags) };
  if (Object.values(fields).includes('invalid')) return BAD_DATA;
  const f = fields as { [K in keyof typeof fields]: Exclude<(typeof fields)[K], 'invalid'> };
  // Only set fields apply: a non-empty text, non-zero times; tags, when present, replace the whole list.
  if (f.text) item.text = f.text;
  if (f.tags !== undefined) item.tags = [...f.tags];
  const range = normaliseRange(f.time && f.time > 0 ? f.time : item.time, f.timeEnd && f.timeEnd > 0 ? f.timeEnd : item.timeEnd);
  if (range !== null) [item.time, item.timeEnd] = range;
  item.updated = Date.now();
  return { status: 200, body: { message: 'Annotation patched' } };
}

/** GET /api/annotations: overlapping [from, to], AND of tags (OR with matchAny), type, dashboard and panel filters, newest first. */
function find(state: GrafanaState, q: URLSearchParams): AnnotationItem[] {
  const from = Number(q.get('from') ?? 0);
  const to = Number(q.get('to') ?? 0);
  const limit = Number(q.get('limit') ?? 0) || 100;
  const tags = q.getAll('tags').filter((t) => t !== '');
  const matchAny = q.get('matchAny') === 'true';
  const type = q.get('type');
  const dashboardUID = q.get('dashboardUID');
  const panelId = q.get('panelId');
  const items = [...state.annotations.values()].filter((a) => {
    if (from > 0 && to > 0 && !(a.time <= to && a.timeEnd >= from)) return false;
    if (type === 'alert' && a.alertId === 0) return false;
    if (type === 'annotation' && a.alertId !== 0) return false;
    if (dashboardUID !== null && a.dashboardUID !== dashboardUID) return false;
    if (panelId !== null && a.panelId !== Number(panelId)) return false;
    if (tags.length > 0 && !(matchAny ? tags.some((t) => a.tags.includes(t)) : tags.every((t) => a.tags.includes(t)))) return false;
    return true;
  });
  items.sort((a, b) => b.time * 1000 + b.timeEnd - (a.time * 1000 + a.timeEnd));
  return items.slice(0, limit);
}

/** The parts of remediator's HTTP API (SPEC §3) that the rehearsal reads and drives. */

/** A step of a run as GET /api/v1/runs/{id} shows it. */
export interface RunStep {
  readonly name: string;
  readonly kind: string;
  readonly state: string;
  readonly argv?: string[] | null;
  readonly url?: string | null;
  readonly exitCode?: number | null;
  readonly attempts?: number;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** A tier of a run. */
export interface RunTier {
  readonly name: string;
  readonly state: string;
  readonly verified: boolean;
  readonly steps: readonly RunStep[];
  readonly verify?: unknown;
}

/** A run in full. */
export interface RunDetail {
  readonly id: string;
  readonly state: string;
  readonly runbook: string;
  readonly faultClass: string;
  readonly target: string;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly approvedBy: string | null;
  readonly tiers: readonly RunTier[];
  readonly escalation?: unknown;
}

/** A decision row. */
export interface Decision {
  readonly receivedAt: string;
  readonly alertname: string;
  readonly runbook: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly runId: string | null;
  readonly deliveries: number;
}

/** An escalation row. */
export interface EscalationRow {
  readonly runbook: string;
  readonly runId: string | null;
  readonly reason: string;
  readonly postedAt: string | null;
}

/** States a run does not leave. */
export const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'interrupted', 'skipped', 'shadow']);

/** A small client of one remediator. */
export interface RemediatorApi {
  readonly url: string;
  runs(query: Record<string, string>): Promise<RunDetail[]>;
  run(id: string): Promise<RunDetail>;
  decisions(query: Record<string, string>): Promise<Decision[]>;
  escalations(query: Record<string, string>): Promise<EscalationRow[]>;
  approve(id: string, note: string): Promise<void>;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A client of the remediator at `url`. */
export function remediatorApi(url: string): RemediatorApi {
  const q = (query: Record<string, string>): string => new URLSearchParams({ limit: '500', ...query }).toString();
  return {
    url,
    runs: async (query) => (await json<{ runs: RunDetail[] }>(`${url}/api/v1/runs?${q(query)}`)).runs,
    run: (id) => json<RunDetail>(`${url}/api/v1/runs/${encodeURIComponent(id)}`),
    decisions: async (query) => (await json<{ decisions: Decision[] }>(`${url}/api/v1/decisions?${q(query)}`)).decisions,
    escalations: async (query) => (await json<{ escalations: EscalationRow[] }>(`${url}/api/v1/escalations?${q(query)}`)).escalations,
    approve: async (id, note) => {
      await json(`${url}/api/v1/runs/${encodeURIComponent(id)}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ note }),
      });
    },
  };
}

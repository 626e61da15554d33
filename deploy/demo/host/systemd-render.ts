/** What systemctl prints for a unit: `status` (with its journal tail) and `show` properties. */
import type { JournalEntry, UnitView } from '../fleet/api-types.js';
import { journalShort, systemdSpan, systemdTimestamp } from './time-format.js';

/** One journal line in journalctl's default format. */
export function journalLine(e: JournalEntry, host: string, output = 'short'): string {
  if (output === 'cat') return e.message;
  const when = output === 'short-iso' ? `${e.at.slice(0, 19)}+00:00` : output === 'short-precise' ? `${journalShort(e.at)}.${e.at.slice(20, 23)}000` : journalShort(e.at);
  return `${when} ${host} ${e.ident}[${e.pid}]: ${e.message}`;
}

function exitText(v: UnitView): string {
  const m = v.execMain;
  if (!m) return '';
  const names: Record<number, string> = { 0: 'SUCCESS', 1: 'FAILURE', 2: 'INVALIDARGUMENT' };
  const status = m.code === 'killed' ? `${m.status}/${(m.signal ?? '').replace(/^SIG/, '')}` : `${m.status}/${names[m.status] ?? m.status}`;
  return `(code=${m.code}, status=${status})`;
}

/** `systemctl status UNIT` for one unit. */
export function statusText(v: UnitView, host: string, journal: readonly JournalEntry[], now = Date.now()): string {
  const dot = v.activeState === 'active' || v.activeState === 'deactivating' ? '●' : v.activeState === 'failed' ? '×' : '○';
  const since = (iso: string | null): string => (iso ? ` since ${systemdTimestamp(iso)}; ${systemdSpan(now - Date.parse(iso))} ago` : '');
  let active: string;
  if (v.activeState === 'active') active = `active (running)${since(v.activeEnterTimestamp)}`;
  else if (v.activeState === 'deactivating') active = `deactivating (stop-sigterm)${since(v.activeExitTimestamp)}`;
  else if (v.activeState === 'failed') active = `failed (Result: ${v.result})${since(v.inactiveEnterTimestamp)}`;
  else active = `inactive (dead)${since(v.inactiveEnterTimestamp)}`;
  const lines = [
    `${dot} ${v.unit}.service - vLLM OpenAI server for ${v.model}`,
    `     Loaded: loaded (/etc/systemd/system/vllm@.service; enabled; preset: enabled)`,
    `     Active: ${active}`,
  ];
  const execStart = `/usr/local/bin/vllm-serve ${v.model}`;
  if (v.mainPid) {
    lines.push(`   Main PID: ${v.mainPid} (vllm)`, `      Tasks: 1 (limit: 629145)`, `     CGroup: /system.slice/system-vllm.slice/${v.unit}.service`);
    lines.push(`             └─${v.mainPid} /opt/vllm/${v.version ?? ''}/bin/python3 /opt/vllm/${v.version ?? ''}/bin/vllm serve /models/${v.model} --served-model-name ${v.model}`);
  } else if (v.execMain) {
    if (v.startedAt && v.execMainExitTimestamp) lines.push(`   Duration: ${((Date.parse(v.execMainExitTimestamp) - Date.parse(v.startedAt)) / 1000).toFixed(3)}s`);
    lines.push(`    Process: ${v.execMain.pid} ExecStart=${execStart} ${exitText(v)}`, `   Main PID: ${v.execMain.pid} ${exitText(v)}`);
  }
  if (journal.length > 0) lines.push('', ...journal.map((e) => journalLine(e, host)));
  return `${lines.join('\n')}\n`;
}

/** Every property `systemctl show` prints, in its order, as systemctl prints the values. */
export function showProperties(props: Readonly<Record<string, string | number | null>>): [string, string][] {
  return Object.entries(props).map(([key, value]) => {
    if (value === null) return [key, ''];
    if (/Timestamp$/.test(key) && typeof value === 'string') return [key, value === '' ? '' : systemdTimestamp(value)];
    return [key, String(value)];
  });
}

/** The properties of a unit systemd does not know (`systemctl show` still answers, with LoadState=not-found). */
export function notFoundProperties(unit: string): Record<string, string | number | null> {
  return { Id: unit, Names: unit, Description: unit, LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead', Result: 'success', MainPID: 0, ExecMainPID: 0, ExecMainCode: 0, ExecMainStatus: 0, ActiveEnterTimestamp: null, InactiveEnterTimestamp: null, NRestarts: 0 };
}

/** The supervisor's control API on 127.0.0.1:controlPort (deploy/demo/README.md lists it). */
import http from 'node:http';
import type { EngineHeartbeat, UnitView } from './api-types.js';
import type { Fleet } from './fleet.js';
import { createRouter, HttpError, readJson, sendJson } from './http-kit.js';

const SEG = '([^/]+)';

/** systemd's property names for a unit, with raw JSON values (systemctl show formats them). */
export function unitProperties(v: UnitView): Record<string, string | number | null> {
  return {
    Id: `${v.unit}.service`,
    Names: `${v.unit}.service`,
    Description: `vLLM OpenAI server for ${v.model}`,
    LoadState: 'loaded',
    ActiveState: v.activeState,
    SubState: v.subState,
    Result: v.result,
    Type: 'exec',
    MainPID: v.mainPid,
    ExecMainPID: v.mainPid || v.execMain?.pid || 0,
    ExecMainCode: v.mainPid ? 0 : v.execMain ? (v.execMain.code === 'exited' ? 1 : 2) : 0,
    ExecMainStatus: v.mainPid ? 0 : (v.execMain?.status ?? 0),
    ExecMainStartTimestamp: v.startedAt,
    ExecMainExitTimestamp: v.mainPid ? null : v.execMainExitTimestamp,
    ActiveEnterTimestamp: v.activeEnterTimestamp,
    ActiveExitTimestamp: v.activeExitTimestamp,
    InactiveEnterTimestamp: v.inactiveEnterTimestamp,
    FragmentPath: '/etc/systemd/system/vllm@.service',
    EnvironmentFiles: `${v.envFile} (ignore_errors=no)`,
    KillSignal: 2,
    TimeoutStopUSec: '5s',
    NRestarts: 0,
    SyslogIdentifier: 'vllm',
  };
}

/** The request listener of the control API. */
export function createControlServer(fleet: Fleet): http.Server {
  return http.createServer(
    createRouter([
      { method: 'GET', pattern: /^\/state$/, handler: (_q, res) => sendJson(res, 200, fleet.state()) },
      { method: 'GET', pattern: new RegExp(`^/units/${SEG}$`), handler: (_q, res, [host = '']) => sendJson(res, 200, fleet.unitsOf(host).map((u) => u.view())) },
      {
        method: 'GET',
        pattern: new RegExp(`^/units/${SEG}/${SEG}$`),
        handler: (_q, res, [host = '', unit = '']) => {
          const view = fleet.unit(host, unit).view();
          sendJson(res, 200, { ...unitProperties(view), view });
        },
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/units/${SEG}/${SEG}/${SEG}$`),
        handler: async (_q, res, [host = '', name = '', action = '']) => {
          const unit = fleet.unit(host, name);
          if (action !== 'start' && action !== 'stop' && action !== 'restart') throw new HttpError(400, `unknown action ${action} (start, stop, restart)`);
          const result = await unit[action]();
          sendJson(res, result.ok ? 200 : 500, result);
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/units/${SEG}/${SEG}/journal$`),
        handler: (_q, res, [host = '', unit = ''], url) => {
          const lines = url.searchParams.get('lines');
          sendJson(res, 200, { entries: fleet.journal(host, unit).tail(lines === null ? undefined : Math.max(0, Number(lines) || 0)) });
        },
      },
      { method: 'GET', pattern: new RegExp(`^/gpus/${SEG}$`), handler: (_q, res, [host = '']) => sendJson(res, 200, fleet.gpuViews(host)) },
      {
        method: 'POST',
        pattern: new RegExp(`^/gpus/${SEG}/(\\d+)/reset$`),
        handler: (_q, res, [host = '', gpu = '0']) => {
          const result = fleet.resetGpu(host, Number(gpu));
          sendJson(res, result.ok ? 200 : /In use/.test(result.message) ? 409 : 500, result);
        },
      },
      { method: 'GET', pattern: new RegExp(`^/hosts/${SEG}/kmsg$`), handler: (_q, res, [host = '']) => sendJson(res, 200, { bootedAt: fleet.startedAt, lines: fleet.kmsg(host) }) },
      { method: 'GET', pattern: /^\/faults$/, handler: (_q, res) => sendJson(res, 200, fleet.state().faults) },
      { method: 'POST', pattern: /^\/faults$/, handler: async (req, res) => sendJson(res, 200, await fleet.inject(await readJson(req))) },
      { method: 'DELETE', pattern: /^\/faults$/, handler: (_q, res) => sendJson(res, 200, { cleared: fleet.clearFaults() }) },
      { method: 'GET', pattern: /^\/events$/, handler: (_q, res, _p, url) => sendJson(res, 200, fleet.events.list(Number(url.searchParams.get('after') ?? 0) || 0)) },
      {
        method: 'POST',
        pattern: new RegExp(`^/engines/${SEG}/${SEG}/heartbeat$`),
        handler: async (req, res, [host = '', model = '']) => sendJson(res, 200, fleet.heartbeat(host, model, (await readJson(req)) as EngineHeartbeat)),
      },
    ]),
  );
}

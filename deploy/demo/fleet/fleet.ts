/** The hosts' side of the fleet in one place: units, GPUs, faults and the events they cause. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineDirective, EngineHeartbeat, FaultView, FleetState, GpuResetResult, GpuView, UnitView } from './api-types.js';
import { setEnvKey, writeEnvFileIfAbsent } from './env-file.js';
import { EventLog } from './events.js';
import { directiveFor, faultSchema, faultView, isOneShot, type FaultRecord, type FaultSpec } from './faults.js';
import type { FleetConfig, HostConfig } from './fleet-config.js';
import { Gpu, type GpuTenant } from './gpus.js';
import { HttpError } from './http-kit.js';
import { Journal } from './journal.js';
import { Unit } from './unit.js';
import { initialEnv } from './unit-launch.js';
import { startLoad, type LoadHandle } from './load.js';
import { APPLICATION_XIDS, cudaErrorFor, nvrmLine } from './xid.js';

/** How the supervisor runs its fleet. */
export interface FleetOptions {
  readonly enginePath: string;
  readonly controlUrl: string;
  readonly stopTimeoutMs: number;
  readonly xidWindowMs: number;
}

interface HostState {
  readonly config: HostConfig;
  readonly gpus: Gpu[];
  readonly units: Map<string, Unit>;
  /** The kernel ring buffer: what `dmesg` prints (Xid lines). */
  readonly kmsg: { at: string; text: string }[];
}

/** Every host, unit, GPU and fault. */
export class Fleet {
  readonly events: EventLog;
  readonly startedAt = new Date().toISOString();
  private readonly hosts = new Map<string, HostState>();
  private faults: FaultRecord[] = [];
  /** The batch traffic of each backlog fault, by fault id. */
  private readonly surges = new Map<string, LoadHandle>();
  private readonly journals = new Map<string, Journal>();

  constructor(
    readonly config: FleetConfig,
    readonly options: FleetOptions,
  ) {
    fs.mkdirSync(config.stateDir, { recursive: true });
    this.events = new EventLog(path.join(config.stateDir, 'events.jsonl'));
    for (const h of config.hosts) {
      this.hosts.set(h.name, { config: h, gpus: Array.from({ length: h.gpus }, (_, i) => new Gpu(h.name, i)), units: new Map(), kmsg: [] });
    }
    for (const model of config.models) {
      for (const replica of model.replicas) {
        const host = this.host(replica.host);
        const hostDir = path.join(config.stateDir, 'hosts', host.config.name);
        const envFile = path.join(hostDir, 'etc', 'vllm', `${model.name}.env`);
        const values = initialEnv(model, replica, host.config);
        writeEnvFileIfAbsent(envFile, values, `vllm@${model.name} on ${host.config.name}: written by the fleet supervisor from fleet.json; edit with vllm-env`);
        const journal = new Journal(path.join(hostDir, 'journal', `vllm@${model.name}.log`));
        const unit = new Unit({ host: host.config, model, envFile, journal, events: this.events, enginePath: options.enginePath, controlUrl: options.controlUrl, stopTimeoutMs: options.stopTimeoutMs });
        host.units.set(unit.name, unit);
        this.journals.set(`${host.config.name}/${unit.name}`, journal);
      }
    }
  }

  /** Starts every unit at once. */
  async startAll(): Promise<void> {
    await Promise.all(this.allUnits().map((u) => u.start()));
  }

  /** Stops every unit (supervisor shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(this.allUnits().map((u) => u.stop()));
  }

  /** True once every unit's engine has loaded. */
  allReady(): boolean {
    return this.allUnits().every((u) => u.report?.phase === 'ready');
  }

  /** A host, or a 404 naming it. */
  host(name: string): HostState {
    const host = this.hosts.get(name);
    if (!host) throw new HttpError(404, `unknown host ${name}`);
    return host;
  }

  /** A unit by name (`vllm@M` or `vllm@M.service`), or a 404 worded as systemctl words it. */
  unit(hostName: string, unitName: string): Unit {
    const name = unitName.replace(/\.service$/, '');
    const unit = this.host(hostName).units.get(name);
    if (!unit) throw new HttpError(404, `Unit ${name}.service not found.`, { ok: false, error: `Unit ${name}.service not found.` });
    return unit;
  }

  /** The units of one host. */
  unitsOf(hostName: string): Unit[] {
    return [...this.host(hostName).units.values()];
  }

  /** A unit's journal. */
  journal(hostName: string, unitName: string): Journal {
    const unit = this.unit(hostName, unitName);
    return this.journals.get(`${hostName}/${unit.name}`) as Journal;
  }

  /** The kernel log of a host. */
  kmsg(hostName: string): { at: string; text: string }[] {
    return [...this.host(hostName).kmsg];
  }

  /** The GPUs of a host as nvidia-smi sees them. */
  gpuViews(hostName: string): GpuView[] {
    const host = this.host(hostName);
    return host.gpus.map((g) => g.view(this.tenants(host, g.index)));
  }

  /** GET /state. */
  state(): FleetState {
    const units: UnitView[] = this.allUnits().map((u) => u.view());
    const gpus = [...this.hosts.keys()].flatMap((h) => this.gpuViews(h));
    const hosts = this.config.hosts.map((h) => ({ name: h.name, ip: h.ip, dcgmPort: h.dcgmPort, gpus: h.gpus }));
    return { startedAt: this.startedAt, controlPort: this.config.controlPort, ready: this.allReady(), hosts, units, gpus, faults: this.faultViews() };
  }

  /** An engine's heartbeat: kept, and answered with what the faults make of it. */
  heartbeat(hostName: string, model: string, hb: EngineHeartbeat): EngineDirective {
    const host = this.host(hostName);
    const unit = this.unit(hostName, `vllm@${model}`);
    const flags = unit.runningFlags;
    if (!unit.heartbeat(hb) || !flags) return directiveFor({ host: hostName, model, pid: hb.pid, version: '', gpuMemoryUtilization: 0, gpuProblem: null, oomTarget: () => ({ targetMiB: 0, pidsOnGpu: [] }), isFirstSeen: () => false }, []);
    const gpu = flags.gpu === null ? undefined : host.gpus[flags.gpu];
    const gpuProblem = !gpu ? 'RuntimeError: CUDA error: invalid device ordinal' : gpu.resetRequired && !this.killedBy(hb.pid) ? `RuntimeError: ${cudaErrorFor(gpu.xid?.code ?? 0)}` : null;
    const oomTarget = (): { targetMiB: number; pidsOnGpu: { pid: number; usedMiB: number }[] } => {
      const view = gpu ? gpu.view(this.tenants(host, gpu.index)) : null;
      const others = view ? view.processes.filter((p) => p.pid !== hb.pid) : [];
      const othersMiB = others.reduce((sum, p) => sum + p.usedMiB, 0);
      // The real ramp died with 681 MiB free of 81079 (shared/fixtures/gpu/ramp.log).
      return { targetMiB: (view ? view.memoryTotalMiB - view.memoryReservedMiB : 81079) - othersMiB - 9 - 681, pidsOnGpu: (view?.processes ?? []).map((p) => ({ pid: p.pid, usedMiB: p.usedMiB })) };
    };
    const isFirstSeen = (f: FaultRecord): boolean => {
      f.targetPid ??= hb.pid;
      return f.targetPid === hb.pid;
    };
    return directiveFor({ host: hostName, model, pid: hb.pid, version: flags.version, gpuMemoryUtilization: Number(flags.gpuMemoryUtilization), gpuProblem, oomTarget, isFirstSeen }, this.faults);
  }

  /** POST /faults. */
  async inject(body: unknown): Promise<{ id: string; injectedAt: string }> {
    const parsed = faultSchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, `bad fault: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const spec = parsed.data;
    const record: FaultRecord = { ...spec, id: randomUUID(), injectedAt: new Date().toISOString() };
    if (spec.kind !== 'backlog' && spec.kind !== 'xid') record.targetPid = this.unit(spec.host, `vllm@${spec.model}`).pid || undefined;
    if (spec.kind === 'backlog' && !this.config.models.some((m) => m.name === spec.model)) throw new HttpError(404, `unknown model ${spec.model}`);
    if (spec.kind === 'xid') this.raiseXid(record, spec);
    if (spec.kind === 'backlog') this.startSurge(record.id, spec);
    this.faults.push(record);
    this.events.add('fault-injected', 'host' in spec ? spec.host : '', { ...faultView(record, false) }, 'model' in spec && spec.model && 'host' in spec ? `vllm@${spec.model}` : undefined);
    if (spec.kind === 'version-skew') {
      const unit = this.unit(spec.host, `vllm@${spec.model}`);
      setEnvKey(unit.view().envFile, 'VLLM_VERSION', spec.version);
      await unit.restart();
    }
    return { id: record.id, injectedAt: record.injectedAt };
  }

  /** DELETE /faults: every fault goes; a GPU an Xid broke is whole again; units are not touched. */
  clearFaults(): number {
    const cleared = this.faults;
    this.faults = [];
    for (const f of cleared) {
      if (f.kind === 'xid') this.host(f.host).gpus[f.gpu]?.clearXid();
      void this.surges.get(f.id)?.stop();
      this.surges.delete(f.id);
      this.events.add('fault-cleared', 'host' in f ? f.host : '', { id: f.id, kind: f.kind });
    }
    return cleared.length;
  }

  /** nvidia-smi --gpu-reset on one GPU. */
  resetGpu(hostName: string, index: number): GpuResetResult {
    const host = this.host(hostName);
    const gpu = host.gpus[index];
    if (!gpu) return { ok: false, message: `No devices were found`, exitCode: 6 };
    const result = gpu.reset(this.tenants(host, index));
    this.events.add(result.ok ? 'gpu-reset' : 'gpu-reset-failed', hostName, { gpu: index, pciBusId: gpu.pciBusId, message: result.message });
    return result;
  }

  /** A backlog: batch clients send through the gateway above the model's service rate, for `seconds` or until cleared. */
  private startSurge(id: string, spec: Extract<FaultSpec, { kind: 'backlog' }>): void {
    const port = Number(this.config.gateway?.port);
    if (!Number.isInteger(port) || port <= 0) throw new HttpError(400, 'a backlog needs the gateway: fleet.json has no gateway.port');
    const surge = startLoad({ gatewayUrl: `http://127.0.0.1:${port}`, model: spec.model, ratePerSecond: spec.rate, priority: 'batch', timeoutMs: 60_000, sloMs: 60_000, maxTokens: 16 });
    this.surges.set(id, surge);
    setTimeout(() => {
      if (this.surges.get(id) === surge) void surge.stop();
    }, spec.seconds * 1000).unref();
  }

  private raiseXid(record: FaultRecord, spec: Extract<FaultSpec, { kind: 'xid' }>): void {
    const host = this.host(spec.host);
    const gpu = host.gpus[spec.gpu];
    if (!gpu) throw new HttpError(400, `${spec.host} has no GPU ${spec.gpu}`);
    const tenants = this.tenants(host, spec.gpu).filter((t) => !APPLICATION_XIDS.has(spec.code) || spec.model === undefined || t.unit === `vllm@${spec.model}`);
    record.killPids = tenants.map((t) => t.pid);
    gpu.raiseXid(spec.code, spec.resetFixes);
    host.kmsg.push({ at: new Date().toISOString(), text: nvrmLine(gpu.pciBusId, spec.code, tenants[0]?.pid ?? null) });
    this.events.add('xid', spec.host, { gpu: spec.gpu, code: spec.code, killed: record.killPids });
  }

  private killedBy(pid: number): boolean {
    return this.faults.some((f) => f.kind === 'xid' && f.killPids?.includes(pid));
  }

  private tenants(host: HostState, index: number): GpuTenant[] {
    return [...host.units.values()]
      .filter((u) => u.pid !== 0 && u.runningFlags?.gpu === index)
      .map((u) => ({ pid: u.pid, unit: u.name, memoryMiB: u.report?.memoryMiB ?? 0, utilizationPct: u.report?.utilizationPct ?? 0 }));
  }

  private faultViews(): FaultView[] {
    return this.faults.map((f) => {
      const unit = 'host' in f && 'model' in f && f.model ? this.hosts.get(f.host)?.units.get(`vllm@${f.model}`) : undefined;
      return faultView(f, isOneShot(f) && f.targetPid !== undefined && unit?.pid !== f.targetPid);
    });
  }

  private allUnits(): Unit[] {
    return [...this.hosts.values()].flatMap((h) => [...h.units.values()]);
  }
}

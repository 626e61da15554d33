/** What the gateway knows of each replica and model: health, drain, breaker, in-flight, canary, admission, fallback. */
import { Breaker } from './gateway-breaker.js';
import type { GatewayConfig, GatewaySettings, ReplicaTarget } from './gateway-config.js';
import { GatewayEventLog, type EventSink } from './gateway-events.js';
import type { AdmissionView, GatewayReplica } from './gateway-types.js';

/** One replica's live state. */
export class Replica {
  /** IP:PORT. */
  readonly address: string;
  readonly breaker: Breaker;
  up = false;
  drained = false;
  inflight = 0;
  version: string | null = null;
  canary = false;
  canaryAt: number | null = null;
  /** A routing sequence number: among equally loaded replicas the least recently picked goes first. */
  lastPicked = 0;

  constructor(
    readonly target: ReplicaTarget,
    settings: GatewaySettings,
    private readonly events: GatewayEventLog,
  ) {
    this.address = `${target.ip}:${target.port}`;
    this.breaker = new Breaker(settings.breaker.failures, settings.breaker.openForMs, (state, detail) =>
      this.events.add(state === 'open' ? 'breaker-open' : state === 'closed' ? 'breaker-close' : 'breaker-half-open', target.model, this.address, detail),
    );
  }

  /** Whether client traffic may go here now. */
  get routable(): boolean {
    return this.up && !this.drained && this.breaker.canRoute();
  }

  /** Records a health check's verdict; only changes are events, and a replica that goes away loses its canary. */
  setUp(up: boolean, detail: Record<string, unknown>): boolean {
    if (up === this.up) return false;
    this.up = up;
    // "ready" must mean a canary answered since it came back, not one from before a restart.
    if (!up) this.canary = false;
    this.events.add(up ? 'replica-ready' : 'replica-unready', this.target.model, this.address, detail);
    return true;
  }

  /** Drains or undrains; an event only when it changes. */
  setDrained(drained: boolean, via: string): void {
    if (drained === this.drained) return;
    this.drained = drained;
    this.events.add(drained ? 'drain' : 'undrain', this.target.model, this.address, { via });
  }

  /** Records the version read from /version. */
  setVersion(version: string): void {
    if (version === this.version) return;
    this.events.add('replica-version', this.target.model, this.address, { from: this.version, to: version });
    this.version = version;
  }

  /** The admin API's view. */
  view(): GatewayReplica {
    const t = this.target;
    return {
      replica: this.address,
      model: t.model,
      host: t.ip,
      hostName: t.hostName,
      port: t.port,
      gpu: t.gpu,
      state: this.up ? 'ready' : 'unready',
      up: this.up,
      drained: this.drained,
      breaker: this.breaker.state,
      inflight: this.inflight,
      version: this.version,
      canary: this.canary,
      canaryAt: this.canaryAt === null ? null : new Date(this.canaryAt).toISOString(),
      routable: this.routable,
    };
  }
}

interface Admission {
  readonly limit: number;
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

/** One model: its replicas, batch requests in flight, admission limit and whether it is on the fallback. */
export class ModelState {
  batchInflight = 0;
  admission: Admission | null = null;
  onFallback = false;

  constructor(
    readonly name: string,
    readonly replicas: readonly Replica[],
  ) {}
}

/** Every replica and model of the gateway, and the event log they write to. */
export class GatewayState {
  readonly events: GatewayEventLog;
  readonly replicas: readonly Replica[];
  readonly models: ReadonlyMap<string, ModelState>;
  private picks = 0;

  constructor(
    readonly config: GatewayConfig,
    sink?: EventSink,
  ) {
    this.events = new GatewayEventLog(sink);
    const models = new Map<string, ModelState>();
    for (const [name, targets] of config.models) models.set(name, new ModelState(name, targets.map((t) => new Replica(t, config.settings, this.events))));
    this.models = models;
    this.replicas = [...models.values()].flatMap((m) => m.replicas);
  }

  /** The replica at IP:PORT (the host may also be given by its fleet.json name). */
  replica(host: string, port: number): Replica | undefined {
    return this.replicas.find((r) => (r.target.ip === host || r.target.hostName === host) && r.target.port === port);
  }

  /** Every replica on a host's GPU (the host by IP or name). */
  onGpu(host: string, gpu: number): Replica[] {
    return this.replicas.filter((r) => (r.target.ip === host || r.target.hostName === host) && r.target.gpu === gpu);
  }

  /** The routable replica with the fewest requests in flight, skipping `tried`; it is marked picked. */
  pick(model: ModelState, tried: ReadonlySet<Replica>): Replica | undefined {
    const candidates = model.replicas.filter((r) => r.routable && !tried.has(r));
    candidates.sort((a, b) => a.inflight - b.inflight || a.lastPicked - b.lastPicked);
    const chosen = candidates[0];
    if (chosen) chosen.lastPicked = ++this.picks;
    return chosen;
  }

  /** Limits the model's batch requests in flight until the ttl runs out. */
  setAdmission(model: ModelState, limit: number, ttlMs: number): AdmissionView {
    if (model.admission) clearTimeout(model.admission.timer);
    const timer = setTimeout(() => this.liftAdmission(model, 'expired'), ttlMs);
    timer.unref();
    model.admission = { limit, expiresAt: Date.now() + ttlMs, timer };
    const view = { model: model.name, batchInflight: limit, expiresAt: new Date(model.admission.expiresAt).toISOString() };
    this.events.add('admission-set', model.name, null, { batchInflight: limit, ttlMs, expiresAt: view.expiresAt });
    return view;
  }

  /** Lifts the model's admission limit; false when there was none. */
  liftAdmission(model: ModelState, reason: 'deleted' | 'expired'): boolean {
    if (!model.admission) return false;
    clearTimeout(model.admission.timer);
    model.admission = null;
    this.events.add('admission-lifted', model.name, null, { reason });
    return true;
  }

  /** Whether one more batch request may go in now. */
  admitsBatch(model: ModelState): boolean {
    const a = model.admission;
    if (!a) return true;
    if (Date.now() >= a.expiresAt) return this.liftAdmission(model, 'expired');
    return model.batchInflight < a.limit;
  }

  /** A request of the model was answered with the fallback. */
  fellBack(model: ModelState, reason: string): void {
    if (model.onFallback) return;
    model.onFallback = true;
    this.events.add('fallback-start', model.name, null, { reason });
  }

  /** A routed request of the model was answered by a replica. */
  served(model: ModelState, replica: Replica): void {
    if (!model.onFallback) return;
    model.onFallback = false;
    this.events.add('fallback-end', model.name, null, { servedBy: replica.address });
  }

  /** Stops every timer. */
  close(): void {
    for (const r of this.replicas) r.breaker.dispose();
    for (const m of this.models.values()) if (m.admission) clearTimeout(m.admission.timer);
  }
}

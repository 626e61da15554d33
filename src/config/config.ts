/** Loads the configuration file into a frozen, resolved Config: durations in ms, secrets read from their files. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { parseDuration } from '../core/duration.js';
import { RemediatorError, toError } from '../core/errors.js';
import { invalidAllowHostsEntries } from '../execute/http/allow-hosts.js';
import { configSchema, type ParsedConfig } from './config-schema.js';

export type Role = 'webhook' | 'read' | 'operate';

/** The credentials one role accepts; an empty list of both means the role is open. */
export interface RoleCredentials {
  readonly bearerTokens: readonly string[];
  readonly basic: readonly { readonly username: string; readonly password: string }[];
}

export interface Config {
  readonly file: string | null;
  readonly listen: { readonly host: string; readonly port: number };
  readonly publicURL: string;
  /** Host names served besides localhost, the listen host and publicURL's (lower case; "*.domain" and "*" allowed). */
  readonly allowedHosts: readonly string[];
  readonly runbooksDir: string;
  readonly store: { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };
  readonly auth: Readonly<Record<Role, RoleCredentials>> & { readonly allowUnauthenticated: boolean };
  readonly prometheusURL: string | null;
  /** Defaults for SSH steps; runbooks override host, port and user. */
  readonly ssh: {
    readonly user: string | null;
    readonly port: number;
    readonly privateKeyFile: string | null;
    readonly knownHostsFile: string | null;
    readonly connectTimeoutMs: number;
    /** CIDRs or host globs; empty means any host that knownHostsFile has a key for. */
    readonly allowHosts: readonly string[];
  };
  /** Where http steps may go (CIDRs or host globs, checked against the resolved address); empty means nowhere. */
  readonly http: { readonly allowHosts: readonly string[] };
  readonly alertmanagerURL: string | null;
  /** Where run annotations go; the service-account token read from grafana.tokenFile. */
  readonly grafana: { readonly url: string; readonly token: string; readonly dashboardUID: string | null } | null;
  readonly metricsAuth: 'none' | 'read';
  readonly executeEnv: readonly string[];
  readonly limits: {
    readonly maxConcurrentRuns: number;
    readonly maxRunStartsPerMinute: number;
    readonly maxOutputBytes: number;
    readonly bodyLimitBytes: number;
    /** Open connections the HTTP server holds at most; more are dropped at once. */
    readonly maxConnections: number;
    /** A client must send its request headers within this, and the whole request within requestTimeoutMs. */
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly killGraceMs: number;
    readonly leaseMs: number;
    readonly shutdownGraceMs: number;
  };
  readonly retentionMs: number;
  /** Every secret read from a file, so command output can be scrubbed of them. */
  readonly secrets: readonly string[];
}

function ms(text: string): number {
  const v = parseDuration(text);
  if (v === null) throw new RemediatorError('CONFIG_INVALID', `not a duration: ${text}`);
  return v;
}

function readSecret(baseDir: string, file: string, where: string): string {
  const full = path.resolve(baseDir, file);
  try {
    const value = readFileSync(full, 'utf8').trim();
    if (value === '') throw new Error('the file is empty');
    return value;
  } catch (err) {
    throw new RemediatorError('CONFIG_INVALID', `${where}: cannot read ${full}: ${toError(err).message}`, { cause: err });
  }
}

function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(i + 1)) };
}

/** The source offset of the node at path, or of the key `key` inside it. */
function nodeOffset(doc: Document, keyPath: (string | number)[], key: string | undefined): number | null {
  const node = keyPath.length === 0 ? doc.contents : doc.getIn(keyPath, true);
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (isScalar(pair?.key) && pair.key.range) return pair.key.range[0];
  }
  const range = (node as { range?: [number, number] } | null | undefined)?.range;
  return range ? range[0] : null;
}

/** Reads and validates YAML config text; errors name file:line:col. */
export function parseConfigText(text: string, file: string | null): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const where = file ?? '<config>';
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    throw new RemediatorError('CONFIG_INVALID', `${where}:${pos?.line ?? 1}:${pos?.col ?? 1}: ${e?.message ?? 'YAML error'}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const offset = nodeOffset(doc, issue.path as (string | number)[], unknownKey);
      const pos = offset === null ? { line: 1, col: 1 } : lineCounter.linePos(offset);
      const keyPath = [...issue.path, ...(unknownKey === undefined ? [] : [unknownKey])].join('.') || '(top level)';
      return `${where}:${pos.line}:${pos.col}: ${keyPath}: ${issue.message}`;
    });
    throw new RemediatorError('CONFIG_INVALID', messages.join('\n'));
  }
  return parsed.data;
}

function resolveRole(baseDir: string, role: Role, input: ParsedConfig['auth'][Role]): RoleCredentials {
  const bearerTokens = input?.bearerTokenFile ? [readSecret(baseDir, input.bearerTokenFile, `auth.${role}.bearerTokenFile`)] : [];
  const basic = input?.basic
    ? [{ username: input.basic.username, password: readSecret(baseDir, input.basic.passwordFile, `auth.${role}.basic.passwordFile`) }]
    : [];
  return Object.freeze({ bearerTokens, basic });
}

function checkAllowHosts(key: string, entries: readonly string[] | undefined): void {
  const invalid = invalidAllowHostsEntries(entries ?? []);
  if (invalid.length > 0) throw new RemediatorError('CONFIG_INVALID', `${key}: not an IP, CIDR or host name: ${invalid.join(', ')}`);
}

function resolveGrafana(baseDir: string, g: ParsedConfig['grafana']): Config['grafana'] {
  if (g === undefined) return null;
  if (g.tokenFile === undefined) throw new RemediatorError('CONFIG_INVALID', 'grafana.tokenFile: a service-account token file is needed to post annotations');
  return Object.freeze({ url: g.url.replace(/\/+$/, ''), token: readSecret(baseDir, g.tokenFile, 'grafana.tokenFile'), dashboardUID: g.dashboardUID ?? null });
}

/** Resolves a parsed config: paths relative to the config file's folder (or cwd), secrets read, durations in ms. */
export function resolveConfig(parsed: ParsedConfig, file: string | null, cwd: string): Config {
  const baseDir = file ? path.dirname(path.resolve(cwd, file)) : cwd;
  checkAllowHosts('http.allowHosts', parsed.http?.allowHosts);
  checkAllowHosts('ssh.allowHosts', parsed.ssh?.allowHosts);
  const listen = parseListen(parsed.listen);
  const storeURL = parsed.store.url;
  const store = storeURL.startsWith('sqlite:')
    ? { kind: 'sqlite' as const, path: path.resolve(baseDir, storeURL.slice('sqlite:'.length)) }
    : { kind: 'postgres' as const, url: storeURL };
  const auth = {
    webhook: resolveRole(baseDir, 'webhook', parsed.auth.webhook),
    read: resolveRole(baseDir, 'read', parsed.auth.read),
    operate: resolveRole(baseDir, 'operate', parsed.auth.operate),
    allowUnauthenticated: parsed.auth.allowUnauthenticated,
  };
  const grafana = resolveGrafana(baseDir, parsed.grafana);
  const secrets = [auth.webhook, auth.read, auth.operate].flatMap((r) => [...r.bearerTokens, ...r.basic.map((b) => b.password)]);
  if (grafana !== null) secrets.push(grafana.token);
  const l = parsed.limits;
  if (ms(l.headersTimeout) > ms(l.requestTimeout)) throw new RemediatorError('CONFIG_INVALID', 'limits.headersTimeout: must not be longer than limits.requestTimeout');
  return Object.freeze({
    file,
    listen,
    publicURL: (parsed.publicURL ?? `http://${parsed.listen}`).replace(/\/+$/, ''),
    allowedHosts: Object.freeze(parsed.allowedHosts.map((h) => h.toLowerCase().replace(/\.$/, ''))),
    runbooksDir: path.resolve(baseDir, parsed.runbooks),
    store,
    auth,
    prometheusURL: parsed.prometheus?.url?.replace(/\/+$/, '') ?? null,
    ssh: Object.freeze({
      user: parsed.ssh?.user ?? null,
      port: parsed.ssh?.port ?? 22,
      privateKeyFile: parsed.ssh?.privateKeyFile ? path.resolve(baseDir, parsed.ssh.privateKeyFile) : null,
      knownHostsFile: parsed.ssh?.knownHostsFile ? path.resolve(baseDir, parsed.ssh.knownHostsFile) : null,
      connectTimeoutMs: ms(parsed.ssh?.connectTimeout ?? '10s'),
      allowHosts: Object.freeze([...(parsed.ssh?.allowHosts ?? [])]),
    }),
    http: Object.freeze({ allowHosts: Object.freeze([...(parsed.http?.allowHosts ?? [])]) }),
    alertmanagerURL: parsed.alertmanager?.url?.replace(/\/+$/, '') ?? null,
    grafana,
    metricsAuth: parsed.metrics.auth,
    executeEnv: Object.freeze([...parsed.execute.env]),
    limits: Object.freeze({
      maxConcurrentRuns: l.maxConcurrentRuns,
      maxRunStartsPerMinute: l.maxRunStartsPerMinute,
      maxOutputBytes: l.maxOutputBytes,
      bodyLimitBytes: l.bodyLimitBytes,
      maxConnections: l.maxConnections,
      headersTimeoutMs: ms(l.headersTimeout),
      requestTimeoutMs: ms(l.requestTimeout),
      killGraceMs: ms(l.killGrace),
      leaseMs: ms(l.lease),
      shutdownGraceMs: ms(l.shutdownGrace),
    }),
    retentionMs: ms(parsed.retention),
    secrets: Object.freeze(secrets),
  });
}

/** Loads the config from a file, or the embedded defaults when file is null. */
export function loadConfig(file: string | null, cwd: string = process.cwd()): Config {
  let text = '';
  if (file !== null) {
    try {
      text = readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (err) {
      throw new RemediatorError('CONFIG_INVALID', `cannot read config ${file}: ${toError(err).message}`, { cause: err });
    }
  }
  return resolveConfig(parseConfigText(text, file), file, cwd);
}

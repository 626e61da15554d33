/** The runbook file format (SPEC §4) as one strict zod schema, and its JSON Schema for editors. */

import { z } from 'zod';
import { formatDuration, parseDuration } from '../core/duration.js';
import { compileAnchoredRegex, parseMatcher } from './matcher.js';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const PARAM_NAME = /^[a-z][a-z0-9_]*$/;
const PARAM_SOURCE = /^(labels|annotations)\.[a-zA-Z_][a-zA-Z0-9_]*$/;
const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Every step kind of the format; a step has exactly one. */
export const STEP_KINDS = ['run', 'script', 'http', 'promql', 'wait', 'capture'] as const;

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== null, { error: 'not a duration (Prometheus syntax: 90s, 5m, 1h30m)' })
  .meta({ description: 'Prometheus duration: 90s, 5m, 1h30m, 30d' });
const positiveDuration = duration.refine((s) => (parseDuration(s) ?? 0) > 0, { error: 'must be longer than 0s' });

const regexSource = z.string().min(1).superRefine((s, ctx) => {
  const re = compileAnchoredRegex(s);
  if (!re.ok) ctx.addIssue({ code: 'custom', message: re.message });
});

const matcher = z.string().superRefine((s, ctx) => {
  const m = parseMatcher(s);
  if (!m.ok) ctx.addIssue({ code: 'custom', message: m.message });
});

const kebab = (what: string) => z.string().regex(KEBAB, { error: `${what} must be kebab-case (a-z, 0-9, single dashes)` });
const stepName = z.string().regex(STEP_NAME, { error: 'names are 1-64 of A-Z a-z 0-9 _ . - and start with a letter or digit' });

const ssh = z
  .strictObject({
    host: z.string().min(1).optional().meta({ description: 'template (params, target, pool); default "{{ target }}"' }),
    port: z.int().min(1).max(65535).optional(),
    user: z.string().regex(SSH_USER, { error: 'ssh.user is 1-32 of A-Z a-z 0-9 _ . - and starts with a letter, digit or _' }).optional(),
  })
  .meta({ description: 'run over SSH; unset keys come from the tier, the runbook, then the config' });

const until = z.strictObject({ every: positiveDuration, within: positiveDuration });

/** Methods an http step may use. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const headerFile = z.strictObject({
  file: z.string().min(1).meta({ description: 'absolute path; read when the step runs, never stored' }),
  prefix: z.string().optional().meta({ description: 'put before the file content, e.g. "Bearer "' }),
});

const http = z.strictObject({
  method: z.enum(HTTP_METHODS, { error: `method must be one of ${HTTP_METHODS.join(', ')}` }).default('GET'),
  url: z.string().min(1).meta({ description: 'http or https; template (params, target, pool, run.id, run.url)' }),
  headers: z
    .record(z.string().regex(HEADER_NAME, { error: "header names are HTTP tokens (A-Z a-z 0-9 and !#$%&'*+.^_`|~-)" }), z.union([z.string(), headerFile]))
    .default({}),
  body: z
    .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
    .optional()
    .meta({ description: 'text (escaped by its Content-Type: JSON, form or text/plain), or a map or list sent as JSON; templates in string values' }),
  expectStatus: z.array(z.int().min(100).max(599)).min(1).optional().meta({ description: 'default: any 2xx' }),
});

const step = z
  .strictObject({
    name: stepName,
    run: z.array(z.string()).min(1).optional(),
    script: z.string().min(1).optional(),
    http: http.optional(),
    promql: z.string().min(1).optional(),
    wait: duration.optional(),
    capture: z.enum(['gpu'], { error: 'capture must be gpu (nvidia-smi GPUs and compute processes)' }).optional(),
    ssh: ssh.optional(),
    timeout: positiveDuration.optional().meta({ description: 'per attempt; default 60s' }),
    until: until.optional(),
    continueOnError: z.boolean().default(false),
    idempotent: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    const kinds = STEP_KINDS.filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) {
      const found = kinds.length === 0 ? 'none' : kinds.join(' and ');
      ctx.addIssue({ code: 'custom', message: `a step needs exactly one of ${STEP_KINDS.join(', ')} (found ${found})` });
    }
    if (s.until && (parseDuration(s.until.within) ?? 0) < (parseDuration(s.until.every) ?? 0)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'until.within must be at least until.every' });
    }
    if (s.wait !== undefined && (s.timeout !== undefined || s.until !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a wait step takes neither timeout nor until: its duration is its timeout' });
    }
  });

const verify = z
  .strictObject({
    promql: z.string().min(1).optional().meta({ description: 'success = a non-empty result; template (params, target, pool, labels)' }),
    alertResolved: z
      .literal(true, { error: 'alertResolved can only be true (for no verification, leave verify out)' })
      .optional()
      .meta({ description: "the alert's ALERTS series was seen firing, then is gone for stableFor" }),
    every: positiveDuration.default('15s'),
    within: positiveDuration.default('5m'),
    stableFor: duration.optional().meta({ description: 'default: 2 × every' }),
  })
  .superRefine((v, ctx) => {
    if ((v.promql === undefined) === (v.alertResolved === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'verify needs exactly one of promql and alertResolved' });
    }
    const every = parseDuration(v.every) ?? 0;
    const within = parseDuration(v.within) ?? 0;
    if (within < every) ctx.addIssue({ code: 'custom', path: ['within'], message: 'verify.within must be at least verify.every' });
    const stableFor = v.stableFor === undefined ? 2 * every : (parseDuration(v.stableFor) ?? 0);
    if (within >= every && stableFor >= within) {
      const which = v.stableFor === undefined ? `${formatDuration(stableFor)}, the default 2 × every` : v.stableFor;
      ctx.addIssue({ code: 'custom', path: [v.stableFor === undefined ? 'within' : 'stableFor'], message: `verify.stableFor (${which}) must be shorter than within (${v.within}), or the result can never hold long enough` });
    }
  });

const tier = z.strictObject({
  name: stepName,
  steps: z.array(step).min(1),
  verify: verify.optional(),
  onFailure: z.array(step).default([]),
  approval: z.literal('required', { error: 'approval must be "required" (leave it out for none)' }).optional(),
  approvalTimeout: positiveDuration.optional().meta({ description: 'with approval: required; default 30m' }),
  ssh: ssh.optional(),
});

const param = z.strictObject({
  from: z.string().regex(PARAM_SOURCE, { error: 'from must be labels.NAME or annotations.NAME' }),
  pattern: regexSource,
  transform: z.enum(['host', 'port']).optional().meta({ description: 'host: strip ":port" from host:port; port: keep only the port' }),
  optional: z.boolean().default(false),
  allowLeadingDash: z.boolean().default(false),
});

const safety = z.strictObject({
  cooldown: duration.default('5m'),
  maxAttempts: z.strictObject({ count: z.int().min(1), per: positiveDuration }).prefault({ count: 3, per: '1h' }),
  maxConcurrentPerPool: z.int().min(1).default(1),
  fleetBreaker: z.strictObject({ maxTargets: z.int().min(1), per: positiveDuration }).optional(),
  maxPendingAge: positiveDuration.default('15m'),
  waitFor: duration.default('0s'),
  precheck: z.strictObject({ promql: z.string().min(1) }).optional(),
  silence: z.boolean().default(false),
});

/** The whole runbook file. Durations stay strings here; compiling turns them into milliseconds. */
export const runbookSchema = z.strictObject({
  name: kebab('name'),
  faultClass: kebab('faultClass'),
  description: z.string().default(''),
  match: z.array(matcher).min(1, { error: 'match needs at least one matcher' }),
  params: z
    .record(z.string().regex(PARAM_NAME, { error: 'param names match ^[a-z][a-z0-9_]*$' }), param)
    .default({}),
  target: z.string().min(1),
  pool: z.string().min(1).optional(),
  cancelOnResolve: z.boolean().default(false),
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  safety: safety.prefault({}),
  ssh: ssh.optional(),
  tiers: z.array(tier).min(1),
});

/** A runbook file after validation, before compiling. */
export type RunbookDoc = z.output<typeof runbookSchema>;
export type StepDoc = z.output<typeof step>;
export type TierDoc = z.output<typeof tier>;
export type SshDoc = z.output<typeof ssh>;
export type HttpDoc = z.output<typeof http>;

/** The JSON Schema printed by `remediator schema`. */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(runbookSchema, { io: 'input', unrepresentable: 'any' });
  return { ...schema, title: 'remediator runbook' };
}

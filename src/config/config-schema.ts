/** The configuration file's schema (SPEC §5): every key has a default; unknown keys are errors. */

import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

const duration = z.string().refine((s) => parseDuration(s) !== null, {
  message: 'must be a Prometheus duration such as 90s, 5m or 1h30m',
});

const credentials = z.strictObject({
  bearerTokenFile: z.string().min(1).optional(),
  basic: z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1) }).optional(),
});

const url = z.string().url();

export const configSchema = z.strictObject({
  listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port').default('127.0.0.1:9095'),
  publicURL: url.optional(),
  // Host names (not ports) served besides localhost, the listen host and publicURL's; "*.example.org" or "*" allowed.
  allowedHosts: z.array(z.string().regex(/^(\*|(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?)$/, 'must be a host name without port, "*.domain" or "*"')).default([]),
  runbooks: z.string().min(1).default('./runbooks'),
  store: z
    .strictObject({ url: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://') })
    .default({ url: 'sqlite:./data/remediator.db' }),
  auth: z
    .strictObject({
      webhook: credentials.optional(),
      read: credentials.optional(),
      operate: credentials.optional(),
      allowUnauthenticated: z.boolean().default(false),
    })
    .default({ allowUnauthenticated: false }),
  prometheus: z.strictObject({ url }).optional(),
  alertmanager: z.strictObject({ url }).optional(),
  grafana: z.strictObject({ url, tokenFile: z.string().optional(), dashboardUID: z.string().optional() }).optional(),
  ssh: z
    .strictObject({
      user: z.string().optional(),
      port: z.number().int().min(1).max(65535).optional(),
      privateKeyFile: z.string().optional(),
      knownHostsFile: z.string().optional(),
      connectTimeout: duration.optional(),
      allowHosts: z.array(z.string()).optional(),
    })
    .optional(),
  http: z.strictObject({ allowHosts: z.array(z.string()).default([]) }).optional(),
  metrics: z.strictObject({ auth: z.enum(['none', 'read']).default('none') }).default({ auth: 'none' }),
  execute: z.strictObject({ env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]) }).default({ env: [] }),
  limits: z
    .strictObject({
      maxConcurrentRuns: z.number().int().min(1).max(1024).default(16),
      maxRunStartsPerMinute: z.number().int().min(1).default(60),
      maxOutputBytes: z.number().int().min(1024).default(65536),
      bodyLimitBytes: z.number().int().min(1024).default(1048576),
      maxConnections: z.number().int().min(8).max(65536).default(512),
      headersTimeout: duration.default('10s'),
      requestTimeout: duration.default('60s'),
      killGrace: duration.default('5s'),
      lease: duration.default('30s'),
      shutdownGrace: duration.default('30s'),
    })
    .default({
      maxConcurrentRuns: 16,
      maxRunStartsPerMinute: 60,
      maxOutputBytes: 65536,
      bodyLimitBytes: 1048576,
      maxConnections: 512,
      headersTimeout: '10s',
      requestTimeout: '60s',
      killGrace: '5s',
      lease: '30s',
      shutdownGrace: '30s',
    }),
  retention: duration.default('30d'),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** Renders one compiled step for one alert: argv, SSH host, HTTP request or PromQL text. */

import type { HeaderValue, HttpDef, PlannedStep, SshSettings, StepDef, Template } from '../core/runbook.js';
import { renderTemplate, type RenderContext } from './template.js';

/** A step that cannot be rendered for this alert; the plan fails with its message (param_invalid). */
export class StepRenderError extends Error {}

// A host that starts with "-" would be read as an option by ssh; spaces or "@" would change who it reaches.
const SSH_HOST = /^[A-Za-z0-9_.:%[\]][A-Za-z0-9_.:%[\]-]{0,254}$/;
const LINE_BREAK = /[\r\n\0]/;
// new URL() silently drops tabs and line breaks and trims spaces, so what it parsed would not be what the plan says.
const URL_UNSAFE = /[\s\p{Cc}]/u;
// URL parsing resolves "." and ".." segments (%2e spelled too), so a value "..", encoded or not, could climb the path.
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

function hasDotSegment(url: string): boolean {
  const afterScheme = url.indexOf('//');
  const start = afterScheme < 0 ? -1 : url.slice(afterScheme + 2).search(/[/\\?#]/);
  if (start < 0) return false;
  const rest = url.slice(afterScheme + 2 + start);
  const path = rest.split(/[?#]/, 1)[0] ?? '';
  return path.split(/[/\\]/).some((segment) => DOT_SEGMENT.test(segment));
}

function render(t: Template, ctx: RenderContext, what: string): string {
  const r = renderTemplate(t, ctx);
  if (!r.ok) throw new StepRenderError(`${what}: ${r.message}`);
  return r.value;
}

function renderSsh(ssh: StepDef['ssh'], ctx: RenderContext, step: string): SshSettings<string> | null {
  if (!ssh) return null;
  const host = ssh.host === null ? (ctx.target ?? '') : render(ssh.host, ctx, `step "${step}" ssh host`);
  if (!SSH_HOST.test(host)) throw new StepRenderError(`step "${step}" ssh host ${JSON.stringify(host)} is not a host name or address`);
  return { host, ...(ssh.port !== undefined && { port: ssh.port }), ...(ssh.user !== undefined && { user: ssh.user }) };
}

function checkUrl(url: string, step: string): void {
  let parsed: URL | null = null;
  if (!URL_UNSAFE.test(url)) {
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
  }
  const why =
    parsed === null
      ? 'is not a URL'
      : parsed.protocol !== 'http:' && parsed.protocol !== 'https:'
        ? 'is not http or https'
        : parsed.username !== '' || parsed.password !== ''
          ? 'carries credentials (put them in a header read from a file)'
          : hasDotSegment(url)
            ? 'has a "." or ".." path segment'
            : null;
  if (why !== null) throw new StepRenderError(`step "${step}" url ${JSON.stringify(url.slice(0, 200))} ${why}`);
}

function renderHttp(http: HttpDef<Template>, ctx: RenderContext, step: string): HttpDef<string> {
  const url = render(http.url, ctx, `step "${step}" url`);
  checkUrl(url, step);
  const headers: Array<[string, HeaderValue<string>]> = [];
  for (const [name, value] of Object.entries(http.headers)) {
    if (!('parts' in value)) {
      headers.push([name, value.prefix === undefined ? { file: value.file } : { file: value.file, prefix: value.prefix }]);
      continue;
    }
    const v = render(value, ctx, `step "${step}" header "${name}"`);
    if (LINE_BREAK.test(v)) throw new StepRenderError(`step "${step}" header "${name}" renders with a line break or NUL`);
    headers.push([name, v]);
  }
  const body = http.body === null ? null : render(http.body, ctx, `step "${step}" body`);
  return { method: http.method, url, headers: Object.fromEntries(headers), body, expectStatus: http.expectStatus };
}

function renderArgv(step: StepDef, ctx: RenderContext): string[] {
  const args = step.args ?? [];
  const argv = new Array<string>(args.length + 1);
  argv[0] = step.program ?? '';
  for (let i = 0; i < args.length; i++) {
    argv[i + 1] = render(args[i] as Template, ctx, `step "${step.name}" argument ${i + 1}`);
  }
  return argv;
}

/** Renders one step; throws StepRenderError when a reference has no value or a rendered host or URL is refused. */
export function renderStep(step: StepDef, ctx: RenderContext): PlannedStep {
  const common = { name: step.name, kind: step.kind, timeoutMs: step.timeoutMs, until: step.until, continueOnError: step.continueOnError, idempotent: step.idempotent };
  switch (step.kind) {
    case 'run':
      return { ...common, argv: renderArgv(step, ctx), ssh: renderSsh(step.ssh, ctx, step.name) };
    case 'script':
      return { ...common, script: step.script ?? '', ssh: renderSsh(step.ssh, ctx, step.name) };
    case 'capture':
      return { ...common, capture: step.capture ?? 'gpu', ssh: renderSsh(step.ssh, ctx, step.name) };
    case 'wait':
      return { ...common, waitMs: step.waitMs ?? 0 };
    case 'http':
      if (!step.http) throw new StepRenderError(`step "${step.name}" has no request`);
      return { ...common, http: renderHttp(step.http, ctx, step.name) };
    case 'promql':
      if (!step.promql) throw new StepRenderError(`step "${step.name}" has no query`);
      return { ...common, promql: render(step.promql, ctx, `step "${step.name}" promql`) };
  }
}

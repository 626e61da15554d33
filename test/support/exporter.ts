/** A tiny metrics endpoint that a real Prometheus scrapes: the test sets the gauges it exposes. */
import http from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/** A running exporter. */
export interface ExporterHandle {
  /** Base URL, e.g. http://127.0.0.1:PORT (metrics at /metrics). */
  url: string;
  /** 127.0.0.1:PORT, the form a scrape config wants. */
  hostPort: string;
  /** Sets a gauge series; the name must be a Prometheus metric name. */
  set(name: string, value: number, labels?: Record<string, string>): void;
  /** Removes a series, so it disappears from the next scrape. */
  remove(name: string, labels?: Record<string, string>): void;
  /** How many times /metrics was fetched. */
  scrapes(): number;
  close(): Promise<void>;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Starts the exporter on a free loopback port. */
export async function startExporter(): Promise<ExporterHandle> {
  const series = new Map<string, { name: string; labels: string; value: number }>();
  let scrapes = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(render([...series.values()]));
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    set: (name, value, labels = {}) => {
      const text = labelText(name, labels);
      series.set(`${name}${text}`, { name, labels: text, value });
    },
    remove: (name, labels = {}) => {
      series.delete(`${name}${labelText(name, labels)}`);
    },
    scrapes: () => scrapes,
    close,
  };
}

function labelText(name: string, labels: Record<string, string>): string {
  if (!NAME_RE.test(name)) throw new Error(`not a metric name: ${name}`);
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => {
      if (!LABEL_RE.test(key)) throw new Error(`not a label name: ${key}`);
      return `${key}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
    });
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function render(all: { name: string; labels: string; value: number }[]): string {
  const byName = new Map<string, string[]>();
  for (const s of all) {
    const lines = byName.get(s.name) ?? [];
    lines.push(`${s.name}${s.labels} ${formatValue(s.value)}`);
    byName.set(s.name, lines);
  }
  let out = '';
  for (const [name, lines] of byName) out += `# TYPE ${name} gauge\n${lines.join('\n')}\n`;
  return out;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A unit's env file (STATE/hosts/HOST/etc/vllm/MODEL.env), read as systemd's EnvironmentFile= reads it. */
import fs from 'node:fs';
import path from 'node:path';

/** KEY → value. */
export type EnvMap = Readonly<Record<string, string>>;

/** The keys the supervisor writes and reads; vllm-env edits the same file. */
export const ENV_KEYS = ['VLLM_VERSION', 'GPU_MEMORY_UTILIZATION', 'MAX_NUM_SEQS', 'MAX_MODEL_LEN', 'CUDA_VISIBLE_DEVICES', 'ENFORCE_EAGER', 'HOST', 'PORT'] as const;

/** Parses KEY=VALUE lines; `#` and `;` start comments; one pair of surrounding quotes is removed; a later key wins. */
export function parseEnvFile(text: string): EnvMap {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    const value = match[2] ?? '';
    env[match[1]] = /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

/** The file's pairs, or null when there is no file (systemd then fails the start). */
export function readEnvFile(file: string): EnvMap | null {
  try {
    return parseEnvFile(fs.readFileSync(file, 'utf8'));
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw thrown;
  }
}

/** Writes the file from fleet.json's values unless it exists (a person's or vllm-env's edit wins). */
export function writeEnvFileIfAbsent(file: string, values: EnvMap, heading: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const body = `# ${heading}\n${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
  try {
    fs.writeFileSync(file, body, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw thrown;
  }
}

/** Sets one key in place, keeping the rest of the file (what a partial rollout's config push does). */
export function setEnvKey(file: string, key: string, value: string): void {
  const lines = fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*${key}\\s*=`).test(l));
  if (at >= 0) lines[at] = `${key}=${value}`;
  else lines.push(`${key}=${value}`);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** The keys whose values differ between two reads, with both values. */
export function envChanges(before: EnvMap, after: EnvMap): Record<string, { from: string | null; to: string | null }> {
  const changes: Record<string, { from: string | null; to: string | null }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] !== after[key]) changes[key] = { from: before[key] ?? null, to: after[key] ?? null };
  }
  return changes;
}

/** Where the real Prometheus, Alertmanager and friends live on this machine. */
import fs from 'node:fs';
import path from 'node:path';

/** The first of `candidates` found on PATH (or the path in environment variable `envVar`); throws naming what to install. */
export function findBinary(envVar: string, candidates: readonly string[], debianPackage: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin', '/usr/local/bin']);
  for (const name of candidates) {
    for (const dir of dirs) {
      const full = path.join(dir, name);
      if (isExecutable(full)) return full;
    }
  }
  throw new Error(
    `none of ${candidates.join(', ')} found on PATH; install Debian package ${debianPackage} (scripts/test.sh does) or set ${envVar}`,
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The built command line as users run it: `node bin/remediator.js ...` from the repository root. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './service.js';

/** How a command ended and what it printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with the given arguments; never rejects. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'remediator.js'), ...args], { cwd: REPO_ROOT }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

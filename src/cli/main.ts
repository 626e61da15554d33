/** The command line: serve, check, explain, schema. */

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { toError } from '../core/errors.js';
import { runbookJsonSchema } from '../match/runbook-schema.js';
import { loadRunbookFile } from '../match/load-runbook.js';
import { formatIssue } from '../match/runbook-issue.js';
import { loadCatalog } from '../match/catalog.js';
import { EXPLAIN_USAGE, explainCommand } from '../explain/explain-command.js';

const USAGE = `usage:
  remediator serve [--config FILE]          run the service (or set REMEDIATOR_CONFIG)
  remediator check [DIR]                     validate runbooks (default ./runbooks)
${EXPLAIN_USAGE}
  remediator schema                          print the JSON Schema of runbooks
`;

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `remediator check [DIR]`: every error as file:line:col, warnings too; exit 1 on any error. */
export async function check(dir: string): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (e) {
    err(`${dir}: ${toError(e).message}`);
    return 1;
  }
  for (const f of files) {
    const result = await loadRunbookFile(path.join(dir, f));
    for (const w of result.warnings) err(`${formatIssue(w)} (warning)`);
  }
  const catalog = await loadCatalog(dir);
  if (!catalog.ok) {
    for (const issue of catalog.errors) err(formatIssue(issue));
    err(`${catalog.errors.length} error(s) in ${dir}`);
    return 1;
  }
  out(`${catalog.catalog.runbooks.length} runbook(s) in ${dir} are valid`);
  return 0;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** Runs one command; resolves to the exit code (serve resolves only when the service has stopped). */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'serve': {
      const { serve } = await import('../main.js');
      return serve({ configFile: flag(rest, '--config') ?? process.env.REMEDIATOR_CONFIG ?? null, env: process.env });
    }
    case 'check':
      return check(rest[0] ?? './runbooks');
    case 'schema':
      out(JSON.stringify(runbookJsonSchema(), null, 2));
      return 0;
    case 'explain':
      return explainCommand(rest, { out, err });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      err(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

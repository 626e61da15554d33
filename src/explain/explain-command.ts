/** `remediator explain PAYLOAD.json [--runbooks DIR] [--json]`: what the service would decide and render; it runs nothing. */

import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Alert } from '../core/alert.js';
import { RemediatorError, toError } from '../core/errors.js';
import { loadCatalog } from '../match/catalog.js';
import { formatIssue } from '../match/runbook-issue.js';
import { explainAlert } from './explain-alert.js';
import { EXPLAIN_RUN_ID, EXPLAIN_RUN_URL, type Explanation } from './explanation.js';
import { formatExplanation } from './format-explanation.js';
import { readPayload } from './read-payload.js';

/** Where the command writes: stdout for the explanation, stderr for errors and warnings. */
export interface ExplainIo {
  out(text: string): void;
  err(text: string): void;
}

/** The usage line `remediator help` shows for explain. */
export const EXPLAIN_USAGE = '  remediator explain PAYLOAD.json [--runbooks DIR] [--json]   show matches, rendered steps and offline decisions; runs nothing';

interface ExplainArgs {
  readonly payload: string;
  readonly runbooks: string;
  readonly json: boolean;
}

/** Reads the arguments; a string is the usage error to print. */
export function parseExplainArgs(args: readonly string[]): ExplainArgs | string {
  let payload: string | undefined;
  let runbooks = './runbooks';
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--json') json = true;
    else if (a === '--runbooks') {
      const dir = args[++i];
      if (dir === undefined || dir === '') return '--runbooks needs a folder';
      runbooks = dir;
    } else if (a.startsWith('--runbooks=')) runbooks = a.slice('--runbooks='.length);
    else if (a.startsWith('-') && a !== '-') return `unknown option ${JSON.stringify(a)}`;
    else if (payload !== undefined) return `one payload file at a time (got ${JSON.stringify(payload)} and ${JSON.stringify(a)})`;
    else payload = a;
  }
  if (payload === undefined) return 'the payload file is missing';
  if (runbooks === '') return '--runbooks needs a folder';
  return { payload, runbooks, json };
}

async function readText(file: string): Promise<string> {
  // "-" reads stdin, so that a payload can be piped in from curl or amtool.
  return file === '-' ? text(process.stdin) : readFile(file, 'utf8');
}

/** Runs the command: 0 when every alert was explained, 1 for an unreadable or invalid payload or runbooks that fail to load, 2 for usage errors. */
export async function explainCommand(args: readonly string[], io: ExplainIo): Promise<number> {
  const parsed = parseExplainArgs(args);
  if (typeof parsed === 'string') {
    io.err(`remediator explain: ${parsed}\nusage:\n${EXPLAIN_USAGE}`);
    return 2;
  }
  let alerts: readonly Alert[];
  try {
    alerts = readPayload(await readText(parsed.payload));
  } catch (e) {
    const error = toError(e);
    const code = error instanceof RemediatorError ? ` (${error.code})` : '';
    io.err(`${parsed.payload}: cannot explain this payload${code}: ${error.message}`);
    return 1;
  }
  const loaded = await loadCatalog(parsed.runbooks);
  // Warnings belong to `remediator check`; here a count says they exist without burying the explanation.
  if (loaded.warnings.length > 0) io.err(`${loaded.warnings.length} runbook warning(s) in ${parsed.runbooks}: run \`remediator check ${parsed.runbooks}\` to see them`);
  if (!loaded.ok) {
    for (const issue of loaded.errors) io.err(formatIssue(issue));
    io.err(`${loaded.errors.length} error(s) in ${parsed.runbooks}`);
    return 1;
  }
  const explanation: Explanation = {
    payload: parsed.payload,
    runbooksDir: parsed.runbooks,
    runbookCount: loaded.catalog.runbooks.length,
    placeholders: {
      runId: EXPLAIN_RUN_ID,
      runUrl: EXPLAIN_RUN_URL,
      note: `run.id is "${EXPLAIN_RUN_ID}" and run.url is "${EXPLAIN_RUN_URL}": placeholders, since a real run gets a fresh id and the configured publicURL.`,
    },
    executed: 'nothing',
    alerts: alerts.map((a) => explainAlert(loaded.catalog, a)),
  };
  io.out(parsed.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
  return 0;
}

/**
 * The host's `sudo [-n] [-E] [-H] [-u root] [--] COMMAND ARGS...`: runs COMMAND from PATH as "root"
 * (FLEET_AS_ROOT=1 for the other stand-ins), keeping the environment so the fleet's variables reach it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { err, runMain } from './host-env.js';

const USAGE = 'usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-C num] [-D directory] [-g group] [-h host] [-p prompt] [-R directory] [-T timeout] [-u user] [VAR=value] [-i | -s] [command [arg ...]]\n';

function onPath(command: string): string | null {
  if (command.includes('/')) return fs.existsSync(command) ? command : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const full = path.join(dir || '.', command);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch {
      // not in this folder
    }
  }
  return null;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let user = 'root';
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a === '-u' || a === '--user') user = argv[++i] ?? '';
    else if (/^-u.+/.test(a)) user = a.slice(2);
    else if (/^-[nEHkSP]+$/.test(a) || a === '--non-interactive' || a === '--preserve-env' || a.startsWith('--preserve-env=')) continue;
    else return (await err(`sudo: invalid option -- '${a.replace(/^-+/, '')}'\n${USAGE}`), 1);
  }
  const [command, ...args] = argv.slice(i);
  if (!command) return (await err(USAGE), 1);
  const resolved = onPath(command);
  if (!resolved) return (await err(`sudo: ${command}: command not found\n`), 1);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLEET_AS_ROOT: user === 'root' || user === '#0' ? '1' : '0',
    SUDO_USER: process.env.USER ?? process.env.LOGNAME ?? 'remediator',
    SUDO_COMMAND: [resolved, ...args].join(' '),
  };
  const child = spawn(resolved, args, { stdio: 'inherit', env });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => {
    child.once('error', (e) => {
      process.stderr.write(`sudo: unable to execute ${resolved}: ${e.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      if (signal) {
        // Die of the same signal, as a shell would report it (128 + n).
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
      resolve(code ?? 1);
    });
  });
}

runMain(main);

/** Every package the manifest declares is used: imported by the code, run by a script, or required by one that is. */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from './service.js';

interface Manifest {
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly scripts?: Record<string, string>;
  readonly bin?: string | Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sources(file);
    return /\.(ts|js|mjs|cjs)$/.test(name) ? [file] : [];
  });
}

/** Package names that the files import (static, dynamic and side-effect imports; subpaths count for their package). */
function importedBy(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  const pattern = /(?:from\s+|import\s*\(\s*|import\s+)['"]((?:@[^/'"]+\/)?[^/'".][^/'"]*)/g;
  for (const file of files) for (const m of readFileSync(file, 'utf8').matchAll(pattern)) if (m[1] !== undefined) names.add(m[1]);
  return names;
}

const root = manifest(REPO_ROOT);
const runtime = Object.keys(root.dependencies ?? {});
const dev = Object.keys(root.devDependencies ?? {});
const srcImports = importedBy([...sources(path.join(REPO_ROOT, 'src')), ...sources(path.join(REPO_ROOT, 'bin'))]);
const allImports = new Set([...srcImports, ...importedBy([...sources(path.join(REPO_ROOT, 'test')), ...sources(path.join(REPO_ROOT, 'scripts'))])]);
const configText = ['jest.config.js', 'eslint.config.js', 'tsconfig.json'].map((f) => readFileSync(path.join(REPO_ROOT, f), 'utf8')).join('\n');
const scriptText = Object.values(root.scripts ?? {}).join('\n') + readFileSync(path.join(REPO_ROOT, 'scripts/test.sh'), 'utf8');

function binsOf(name: string): string[] {
  const bin = manifest(path.join(REPO_ROOT, 'node_modules', name)).bin;
  return bin === undefined ? [] : typeof bin === 'string' ? [name.split('/').pop() ?? name] : Object.keys(bin);
}

function usedDirectly(name: string): boolean {
  if (allImports.has(name) || configText.includes(`'${name}'`) || configText.includes(`"${name}"`)) return true;
  if (name.startsWith('@types/')) {
    const typed = name.slice('@types/'.length);
    // Types of a package that is imported, or that an imported runtime dependency is built on (node-ssh's typings use ssh2's).
    const under = runtime.some((dep) => Object.hasOwn(manifest(path.join(REPO_ROOT, 'node_modules', dep)).dependencies ?? {}, typed));
    return typed === 'node' || allImports.has(typed) || under;
  }
  return binsOf(name).some((bin) => new RegExp(`(^|[\\s;&|])(npx\\s+)?${bin}(\\s|$)`, 'm').test(scriptText));
}

describe('package.json', () => {
  it.each(runtime)('imports the dependency %s from the service code', (name) => {
    expect(srcImports.has(name)).toBe(true);
  });

  it.each(dev)('uses the devDependency %s: imported, run by a script, named in a config, or a peer of one that is', (name) => {
    const peerOfUsed = dev.filter(usedDirectly).some((user) => Object.hasOwn(manifest(path.join(REPO_ROOT, 'node_modules', user)).peerDependencies ?? {}, name));
    expect(usedDirectly(name) || peerOfUsed).toBe(true);
  });
});

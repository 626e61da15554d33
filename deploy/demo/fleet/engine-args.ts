/** The engine's command line, checked the way `vllm serve` (argparse) checks it, with its error text. */

/** What an engine serves and how fast. */
export interface EngineOptions {
  readonly model: string;
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly gpuMemoryUtilization: number;
  readonly maxNumSeqs: number;
  readonly maxModelLen: number;
  readonly loadSeconds: number;
  readonly tokensPerSecond: number;
  /** The supervisor's control URL; without it the engine runs alone and no fault reaches it. */
  readonly control: string | null;
  readonly hostName: string;
  readonly gpu: number;
  /** --enforce-eager: no CUDA graphs (less memory, as vLLM logs it). */
  readonly enforceEager: boolean;
}

/** A command line vLLM would refuse; `exitCode` is argparse's 2 or a config error's 1. */
export class EngineArgsError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'EngineArgsError';
  }
}

const USAGE = 'usage: vllm serve [model_tag] [options]';

type Kind = 'str' | 'int' | 'float' | 'bool';
const FLAGS: Record<string, { key: keyof EngineOptions; kind: Kind }> = {
  '--model': { key: 'model', kind: 'str' },
  '--host': { key: 'host', kind: 'str' },
  '--port': { key: 'port', kind: 'int' },
  '--version': { key: 'version', kind: 'str' },
  '--gpu-memory-utilization': { key: 'gpuMemoryUtilization', kind: 'float' },
  '--max-num-seqs': { key: 'maxNumSeqs', kind: 'int' },
  '--max-model-len': { key: 'maxModelLen', kind: 'int' },
  '--load-seconds': { key: 'loadSeconds', kind: 'float' },
  '--tokens-per-second': { key: 'tokensPerSecond', kind: 'float' },
  '--control': { key: 'control', kind: 'str' },
  '--host-name': { key: 'hostName', kind: 'str' },
  '--gpu': { key: 'gpu', kind: 'int' },
  '--enforce-eager': { key: 'enforceEager', kind: 'bool' },
};

function argparseError(message: string): EngineArgsError {
  return new EngineArgsError(`${USAGE}\nvllm serve: error: ${message}`, 2);
}

function convert(flag: string, kind: Exclude<Kind, 'bool'>, raw: string): string | number {
  if (kind === 'str') return raw;
  const ok = kind === 'int' ? /^-?\d+$/.test(raw) : /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw);
  if (!ok) throw argparseError(`argument ${flag}: invalid ${kind} value: '${raw}'`);
  return Number(raw);
}

/** Parses argv (without node and the script); throws EngineArgsError with vLLM's own wording. */
export function parseEngineArgs(argv: readonly string[]): EngineOptions {
  const values: Record<string, string | number | boolean | null> = {
    enforceEager: false,
    version: '0.11.0',
    gpuMemoryUtilization: 0.9,
    maxNumSeqs: 256,
    maxModelLen: 8192,
    loadSeconds: 3,
    tokensPerSecond: 40,
    control: null,
    hostName: 'localhost',
    gpu: 0,
    host: '127.0.0.1',
    port: 8000,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag = '', inline] = (argv[i] ?? '').split(/=(.*)/s, 2);
    const spec = FLAGS[flag];
    if (!spec) throw argparseError(`unrecognized arguments: ${argv[i]}`);
    if (spec.kind === 'bool') {
      if (inline !== undefined) throw argparseError(`argument ${flag}: ignored explicit argument '${inline}'`);
      values[spec.key] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw argparseError(`argument ${flag}: expected one argument`);
    values[spec.key] = convert(flag, spec.kind, raw);
  }
  if (typeof values.model !== 'string' || values.model === '') throw argparseError('the following arguments are required: --model');
  const options = values as unknown as EngineOptions;
  const util = options.gpuMemoryUtilization;
  if (!(util > 0 && util <= 1)) {
    const rule = util > 1 ? ['less than or equal to 1', 'less_than_equal'] : ['greater than 0', 'greater_than'];
    throw new EngineArgsError(
      `pydantic_core._pydantic_core.ValidationError: 1 validation error for CacheConfig\ngpu_memory_utilization\n  Input should be ${rule[0]} [type=${rule[1]}, input_value=${util}, input_type=float]`,
      1,
    );
  }
  if (options.maxNumSeqs < 1) throw new EngineArgsError(`ValueError: max_num_seqs (${options.maxNumSeqs}) must be at least 1.`, 1);
  return options;
}

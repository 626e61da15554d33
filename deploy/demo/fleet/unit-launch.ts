/** What a vllm@MODEL start runs: the env file's keys as engine flags, the way deploy/host/vllm-serve turns them into `vllm serve` flags. */
import type { EngineFlags } from './api-types.js';
import type { EnvMap } from './env-file.js';
import type { HostConfig, ModelConfig, ReplicaConfig } from './fleet-config.js';

/** The env file the supervisor writes from fleet.json when a unit has none. */
export function initialEnv(model: ModelConfig, replica: ReplicaConfig, host: HostConfig): EnvMap {
  return {
    VLLM_VERSION: model.version,
    GPU_MEMORY_UTILIZATION: String(model.gpuMemoryUtilization),
    MAX_NUM_SEQS: String(model.maxNumSeqs),
    MAX_MODEL_LEN: String(model.maxModelLen),
    CUDA_VISIBLE_DEVICES: String(replica.gpu),
    ENFORCE_EAGER: '0',
    HOST: host.ip,
    PORT: String(replica.port),
  };
}

/** The flags an env file gives an engine; a missing key becomes "" (systemd substitutes an unset variable so), which the engine refuses. */
export function flagsFromEnv(env: EnvMap, model: ModelConfig, host: HostConfig): EngineFlags {
  const gpuText = (env.CUDA_VISIBLE_DEVICES ?? '').split(',')[0] ?? '';
  return {
    version: env.VLLM_VERSION ?? '',
    gpuMemoryUtilization: env.GPU_MEMORY_UTILIZATION ?? '',
    maxNumSeqs: env.MAX_NUM_SEQS ?? '',
    maxModelLen: env.MAX_MODEL_LEN ?? String(model.maxModelLen),
    enforceEager: /^(1|true)$/i.test(env.ENFORCE_EAGER ?? ''),
    gpu: /^\d+$/.test(gpuText) ? Number(gpuText) : null,
    host: env.HOST ?? host.ip,
    port: env.PORT ?? '',
  };
}

/** The engine's argv (after node) for these flags. */
export function engineArgs(enginePath: string, flags: EngineFlags, model: ModelConfig, host: HostConfig, controlUrl: string): string[] {
  return [
    enginePath,
    ...['--model', model.name, '--host', flags.host, '--port', flags.port, '--version', flags.version],
    ...['--gpu-memory-utilization', flags.gpuMemoryUtilization, '--max-num-seqs', flags.maxNumSeqs, '--max-model-len', flags.maxModelLen],
    ...['--load-seconds', String(model.loadSeconds), '--tokens-per-second', String(model.tokensPerSecond)],
    ...['--control', controlUrl, '--host-name', host.name, '--gpu', String(flags.gpu ?? 0)],
    ...(flags.enforceEager ? ['--enforce-eager'] : []),
  ];
}

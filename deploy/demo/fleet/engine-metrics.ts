/** The engine's /metrics: vLLM V1's metric names, types, labels and histogram buckets (vllm/v1/metrics/loggers.py). */
import client from 'prom-client';
import type { EngineOptions } from './engine-args.js';
import type { MemoryPlan } from './engine-log.js';

// vLLM's buckets: TTFT, inter-token latency, and the request-latency set used for e2e, queue, prefill and decode.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

/** Every metric the engine moves, each bound to model_name and engine="0". */
export interface EngineMetrics {
  readonly registry: client.Registry;
  readonly running: client.Gauge;
  readonly waiting: client.Gauge;
  readonly kvCacheUsage: client.Gauge;
  readonly preemptions: client.Counter;
  readonly promptTokens: client.Counter;
  readonly generationTokens: client.Counter;
  readonly requestSuccess: client.Counter<'model_name' | 'engine' | 'finished_reason'>;
  readonly ttft: client.Histogram;
  readonly interToken: client.Histogram;
  readonly e2e: client.Histogram;
  readonly queueTime: client.Histogram;
  readonly prefillTime: client.Histogram;
  readonly decodeTime: client.Histogram;
  readonly httpRequests: client.Counter<'handler' | 'method' | 'status'>;
}

/**
 * Creates the registry. Counters carry `_total` in their registered name because prom-client,
 * unlike Python's prometheus_client, does not append it; the exposed series are vLLM's.
 */
export function createEngineMetrics(options: EngineOptions, plan: MemoryPlan, kvUsage: () => number): EngineMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ model_name: options.model, engine: '0' });
  const labelNames = ['model_name', 'engine'] as const;
  const registers = [registry];
  const gauge = (name: string, help: string): client.Gauge => new client.Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string): client.Counter => new client.Counter({ name, help, labelNames, registers });
  const histogram = (name: string, help: string, buckets: number[]): client.Histogram => new client.Histogram({ name, help, labelNames, buckets, registers });

  const metrics: EngineMetrics = {
    registry,
    running: gauge('vllm:num_requests_running', 'Number of requests in model execution batches.'),
    waiting: gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.'),
    kvCacheUsage: new client.Gauge({
      name: 'vllm:kv_cache_usage_perc',
      help: 'KV-cache usage. 1 means 100 percent usage.',
      labelNames,
      registers,
      collect() {
        this.set(kvUsage());
      },
    }),
    preemptions: counter('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.'),
    promptTokens: counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.'),
    generationTokens: counter('vllm:generation_tokens_total', 'Number of generation tokens processed.'),
    requestSuccess: new client.Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'engine', 'finished_reason'],
      registers,
    }),
    ttft: histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS),
    interToken: histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS),
    e2e: histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS),
    queueTime: histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY_BUCKETS),
    prefillTime: histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY_BUCKETS),
    decodeTime: histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY_BUCKETS),
    httpRequests: new client.Counter({
      name: 'http_requests_total',
      help: 'Total number of requests by method, status and handler.',
      labelNames: ['handler', 'method', 'status'],
      registers,
    }),
  };

  // A gauge of 1 whose labels are the CacheConfig, as vLLM's log_metrics_info("cache_config") makes it.
  const cacheConfig: Record<string, string> = {
    block_size: String(plan.blockSize),
    cache_dtype: 'auto',
    calculate_kv_scales: 'False',
    cpu_offload_gb: '0',
    enable_prefix_caching: 'True',
    gpu_memory_utilization: String(options.gpuMemoryUtilization),
    is_attention_free: 'False',
    kv_sharing_fast_prefill: 'False',
    num_cpu_blocks: 'None',
    num_gpu_blocks: String(plan.numGpuBlocks),
    num_gpu_blocks_override: 'None',
    prefix_caching_hash_algo: 'sha256',
    sliding_window: 'None',
    swap_space: '4',
    swap_space_bytes: String(4 * 1024 ** 3),
  };
  const info = new client.Gauge({ name: 'vllm:cache_config_info', help: 'Information of the LLMEngine CacheConfig', labelNames: ['model_name', 'engine', ...Object.keys(cacheConfig)], registers });
  info.set(cacheConfig, 1);

  // Series exist from the start, as vLLM's do, so rate() has a zero to start from.
  for (const m of [metrics.running, metrics.waiting]) m.set(0);
  for (const m of [metrics.preemptions, metrics.promptTokens, metrics.generationTokens]) m.inc(0);
  for (const reason of ['stop', 'length', 'abort']) metrics.requestSuccess.labels({ finished_reason: reason }).inc(0);
  for (const h of [metrics.ttft, metrics.interToken, metrics.e2e, metrics.queueTime, metrics.prefillTime, metrics.decodeTime]) h.zero({});
  return metrics;
}

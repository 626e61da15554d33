/** Xid codes: dcgm-exporter's err_msg texts, which ones are application errors, and what CUDA says when one hits. */

// NVIDIA/dcgm-exporter internal/pkg/collector/xid_errors.go, for the codes a serving fleet meets.
const MESSAGES: Record<number, string> = {
  0: 'No Error',
  8: 'GPU stopped processing',
  13: 'Graphics Engine Exception',
  31: 'GPU memory page fault',
  32: 'Invalid or corrupted push buffer stream',
  38: 'Driver firmware error',
  43: 'GPU stopped processing',
  45: 'Preemptive cleanup, due to previous errors -- Most likely to see when running multiple cuda',
  48: 'Double Bit ECC Error',
  61: 'Internal micro-controller breakpoint/warning',
  62: 'Internal micro-controller halt',
  63: 'ECC page retirement or row remapping recording event',
  64: 'ECC page retirement or row remapper recording failure',
  68: 'NVDEC0 Exception',
  69: 'Graphics Engine class error',
  74: 'NVLINK Error',
  79: 'GPU has fallen off the bus',
  92: 'High single-bit ECC error rate',
  94: 'Contained ECC error',
  95: 'Uncontained ECC error',
  109: 'Context Switch Timeout Error',
  119: 'GSP RPC Timeout',
  120: 'GSP Error',
  140: 'Unrecovered ECC Error',
};

/** The codes NVIDIA's device plugin treats as application errors: the GPU stays healthy. */
export const APPLICATION_XIDS: ReadonlySet<number> = new Set([13, 31, 43, 45, 68]);

/** dcgm-exporter's err_msg for a code. */
export function xidMessage(code: number): string {
  return MESSAGES[code] ?? 'Unknown Error';
}

/** The CUDA error text an engine dies with when the Xid hits under it. */
export function cudaErrorFor(code: number): string {
  if (code === 79) return 'CUDA error: unspecified launch failure';
  if ([48, 63, 64, 94, 95, 140].includes(code)) return 'CUDA error: uncorrectable ECC error encountered';
  if (code === 109) return 'CUDA error: the launch timed out and was terminated';
  if (code === 74) return 'CUDA error: an illegal instruction was encountered';
  if (APPLICATION_XIDS.has(code)) return 'CUDA error: an illegal memory access was encountered';
  return 'CUDA error: unknown error';
}

/** The kernel's line for an Xid, as `dmesg` prints it (NVRM: Xid (PCI:0000:00:06): 79, pid=..., name=..., text). */
export function nvrmLine(pciBusId: string, code: number, pid: number | null): string {
  const pci = pciBusId.replace(/^0000(\w{4}):(\w{2}):(\w{2})\.\d$/, '$1:$2:$3').toLowerCase();
  const who = pid === null ? "pid='<unknown>', name=<unknown>" : `pid=${pid}, name=VLLM::EngineCor`;
  return `NVRM: Xid (PCI:${pci}): ${code}, ${who}, ${xidMessage(code)}`;
}

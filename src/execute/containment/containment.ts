/** The containment port: what keeps every process a local step starts findable and killable as one. */

/** The kinds of containment, strongest first. */
export const CONTAINMENT_KINDS = ['cgroup', 'pid-namespace', 'process-group'] as const;

/** One kind of containment. */
export type ContainmentKind = (typeof CONTAINMENT_KINDS)[number];

/** A program and its arguments, given to execve as they are. */
export interface CommandLine {
  readonly file: string;
  readonly args: readonly string[];
}

/** The container of one step attempt: opened before the spawn, released after the step. */
export interface StepContainer {
  /** The command line to spawn: the step's own, or the step's inside a wrapper (a PID namespace's unshare, a cgroup's entry); env is the step's. */
  wrap(line: CommandLine, env?: Readonly<Record<string, string | undefined>>): CommandLine;
  /** Runs a synchronous spawn so that the child it forks starts inside the container. */
  spawnInside<T>(spawn: () => T): T;
  /** The cgroup directory the store records so that a sweep after a crash can kill it; null for other kinds. */
  readonly cgroup: string | null;
  /** Signals the step's process group and everything else in the container (SIGKILL empties the container). */
  signal(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Kills what is left, waits (bounded) until the container is empty and removes it. */
  release(pgid: number): Promise<void>;
}

/** A containment the host offers; open() rejects when one step's container cannot be made. */
export interface Containment {
  readonly kind: ContainmentKind;
  /** What the start-up log says of it (the cgroup folder, the unshare flags). */
  readonly detail: string;
  open(): Promise<StepContainer>;
}

/**
 * How a job (an audit or a repair) stands. `interrupted`: it stopped because its process shut down (SIGTERM, Ctrl-C)
 * after finishing its current batch; `abandoned`: its process died without a word (kill -9, a lost machine) and its
 * heartbeat expired.
 */
export const JOB_STATUSES = ['running', 'done', 'failed', 'cancelled', 'interrupted', 'abandoned'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Who started a job. */
export const JOB_TRIGGERS = ['api', 'schedule', 'cli'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export const JOB_KINDS = ['audit', 'repair'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The process running a job: a random id per process start, its host and pid. */
export interface JobInstance {
  id: string;
  host: string;
  pid: number;
}

/** What every stored job says of itself, whatever its kind (`P`: its progress). */
export interface JobState<P> {
  status: JobStatus;
  trigger: JobTrigger;
  instance: JobInstance;
  startedAt: Date;
  /** Renewed while it runs: a running job whose heartbeat is older than the lease TTL is abandoned. */
  heartbeatAt: Date;
  finishedAt?: Date;
  progress: P;
  /** Why it failed, was cancelled, interrupted or abandoned (no internal detail). */
  error?: string;
  /** Someone asked to cancel it (from any instance); the instance running it stops at its next heartbeat. */
  cancelRequestedAt?: Date;
}

/** Why a running job was asked to stop. */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost';

/** The status a job ends with when it stops for `reason` before finishing. */
export function stoppedStatus(reason: StopReason | undefined): Exclude<JobStatus, 'running'> {
  if (reason === 'shutdown') return 'interrupted';
  if (reason === 'cancel') return 'cancelled';
  return 'failed';
}

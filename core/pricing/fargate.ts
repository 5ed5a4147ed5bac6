/**
 * Fargate prices: the one place the ledger, the autoscaler benchmark and the
 * README's cost estimate take them from. AWS bills a task per second for its
 * vCPU and memory, with a one-minute minimum per task start.
 */
export type CpuArchitecture = 'x86_64' | 'arm64';

/** Dollars per hour for one vCPU and for one GB of memory. */
export interface FargateRates {
  readonly vcpuHourUsd: number;
  readonly gbHourUsd: number;
}

/** us-east-1 Linux list prices; other regions come from configuration. */
export const DEFAULT_FARGATE_RATES: Readonly<Record<CpuArchitecture, FargateRates>> = Object.freeze({
  x86_64: Object.freeze({ vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 }),
  arm64: Object.freeze({ vcpuHourUsd: 0.03238, gbHourUsd: 0.00356 }),
});

/** Fargate bills at least this many seconds for every task it starts. */
export const FARGATE_MINIMUM_BILLED_SECONDS = 60;

/** A task size as ECS declares it: cpu units (1024 = 1 vCPU) and memory in MiB. */
export interface TaskSize {
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly architecture: CpuArchitecture;
}

const SECONDS_PER_HOUR = 3600;
const CPU_UNITS_PER_VCPU = 1024;
const MIB_PER_GB = 1024;

/** Dollars per hour of one running task of this size. */
export function taskHourlyUsd(size: TaskSize, rates: Readonly<Record<CpuArchitecture, FargateRates>>): number {
  const rate = rates[size.architecture];
  return (size.cpu / CPU_UNITS_PER_VCPU) * rate.vcpuHourUsd + (size.memoryMiB / MIB_PER_GB) * rate.gbHourUsd;
}

/** Dollars for `taskSeconds` of running tasks of this size (already-running tasks: no minimum applies). */
export function taskSecondsUsd(
  size: TaskSize,
  rates: Readonly<Record<CpuArchitecture, FargateRates>>,
  taskSeconds: number,
): number {
  return (taskHourlyUsd(size, rates) * taskSeconds) / SECONDS_PER_HOUR;
}

/** Dollars for one task started and run for `seconds`: Fargate's one-minute minimum applies. */
export function taskRunUsd(size: TaskSize, rates: Readonly<Record<CpuArchitecture, FargateRates>>, seconds: number) {
  return taskSecondsUsd(size, rates, Math.max(FARGATE_MINIMUM_BILLED_SECONDS, seconds));
}

import { SERVICE_ORDER } from '#functions/autoscaler/settings.js';

/** The fields of the tick's decision log line (functions/autoscaler/tick.ts) that the summary shows. */
interface DecisionLine {
  readonly level: string;
  readonly message: string;
  readonly timestamp?: string;
  readonly tier?: string;
  readonly capacity?: number;
  readonly desiredCount?: number;
  readonly budgetLimited?: boolean;
  readonly error?: string;
  readonly budget?: {
    readonly budgetUsd: number;
    readonly spendUsd: number;
    readonly remainingUsd: number;
    readonly projectedSpendUsd: number;
  };
}

const usd = (v: number) => `$${v < 10 ? v.toFixed(4) : v.toFixed(2)}`;

/**
 * Turns the autoscaler's Powertools log lines into one terminal line per
 * tick: each tier's count (and its change), why, and the budget left.
 * Warnings and errors are printed as they come. Other lines are ignored
 * (they are in the log file).
 */
export class DecisionPrinter {
  private tick: DecisionLine[] = [];

  constructor(private readonly print: (line: string) => void) {}

  read(raw: string): void {
    let line: DecisionLine;
    try {
      line = JSON.parse(raw) as DecisionLine;
    } catch {
      return;
    }
    const time = (line.timestamp ?? new Date().toISOString()).slice(11, 19);
    if (line.level === 'WARN' || line.level === 'ERROR') {
      this.print(
        `${time}  autoscaler ${line.level.toLowerCase()}: ${line.message}${line.error ? ` (${line.error})` : ''}`,
      );
      return;
    }
    if (line.tier === undefined || line.desiredCount === undefined) return;
    this.tick.push(line);
    if (line.tier !== SERVICE_ORDER[SERVICE_ORDER.length - 1]) return;
    const decisions = this.tick;
    this.tick = [];
    const counts = decisions.map((d) =>
      d.capacity === d.desiredCount ? `${d.tier} ${d.desiredCount}` : `${d.tier} ${d.capacity} → ${d.desiredCount}`,
    );
    const why = decisions
      .filter((d) => d.capacity !== d.desiredCount || d.budgetLimited || d.tier === line.tier)
      .map((d) => `${d.tier}: ${d.message}${d.budgetLimited ? ' [budget-limited]' : ''}`);
    const b = line.budget;
    const budget = b
      ? `  | spent ${usd(b.spendUsd)}, ${usd(b.remainingUsd)} left of ${usd(b.budgetUsd)}, projected ${usd(b.projectedSpendUsd)}`
      : '';
    this.print(`${time}  ${counts.join(', ')}${budget}\n          ${why.join('; ')}`);
  }
}

/**
 * Which rules each worker of a cluster answers with (WORKERS > 1), kept by the primary. Each worker reloads on its
 * own when the primary passes SIGHUP on (main.ts), so a file changed between two workers' reloads, or a worker
 * started to replace one that died after the files changed, leaves workers answering with different rules. Workers
 * report their rules when they start listening and after each reload; the primary says once a reload has reached
 * every worker whether they agree, warns when they do not, and tells the workers, whose `/healthz` shows it.
 */
import type { Logger } from '../log.js';
import type { ReloadOutcome } from './current-rules.js';

/** A worker's rules as it reports them to the primary: at start (`started`), and after each reload. */
export interface RulesReport {
  readonly type: typeof RULES_REPORT;
  readonly packs: string;
  readonly outcome: 'started' | ReloadOutcome['outcome'];
}

/** One worker and the rules (pack label, current-rules.ts) it answers with. */
export interface WorkerRules {
  readonly worker: number;
  readonly packs: string;
}

/** What the primary tells every worker after a change: each worker's rules, by worker id. */
export interface ClusterRulesMessage {
  readonly type: typeof CLUSTER_RULES;
  readonly workers: readonly WorkerRules[];
}

/** The `type` of a worker's report. */
export const RULES_REPORT = 'intrathecal-cds:rules';
/** The `type` of the primary's message to the workers. */
export const CLUSTER_RULES = 'intrathecal-cds:cluster-rules';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Whether a message from a worker is its rules report (other IPC messages, Node's own among them, are not).
 * @param message - what the worker sent.
 * @returns true for a report.
 */
export function isRulesReport(message: unknown): message is RulesReport {
  return isObject(message) && message['type'] === RULES_REPORT && typeof message['packs'] === 'string' && typeof message['outcome'] === 'string';
}

/**
 * Whether a message from the primary is the cluster's rules.
 * @param message - what the primary sent.
 * @returns true for the cluster's rules.
 */
export function isClusterRules(message: unknown): message is ClusterRulesMessage {
  return isObject(message) && message['type'] === CLUSTER_RULES && Array.isArray(message['workers']);
}

/** The primary's view of its workers' rules. */
export class ClusterRules {
  readonly #packs = new Map<number, string>();
  /** Workers a SIGHUP was passed to whose report has not come; the reload is complete when none are left. */
  readonly #awaiting = new Set<number>();
  readonly #refused = new Set<number>();
  readonly #log: Pick<Logger, 'info' | 'warn'>;

  /** @param log - where agreement and disagreement are reported. */
  constructor(log: Pick<Logger, 'info' | 'warn'>) {
    this.#log = log;
  }

  /** Each worker that has reported, by id, with the rules it answers with. */
  get workers(): readonly WorkerRules[] {
    return [...this.#packs].sort(([a], [b]) => a - b).map(([worker, packs]) => ({ worker, packs }));
  }

  /** Whether every worker that has reported answers with the same rules. */
  get agree(): boolean {
    return new Set(this.#packs.values()).size <= 1;
  }

  /**
   * A SIGHUP was passed to this worker: its next report ends its part of the reload.
   * @param worker - the worker's id.
   */
  signalled(worker: number): void {
    this.#awaiting.add(worker);
  }

  /**
   * A worker reported its rules.
   * @param worker - the worker's id.
   * @param report - its rules and what its reload did.
   */
  reported(worker: number, report: RulesReport): void {
    this.#packs.set(worker, report.packs);
    if (report.outcome === 'started') {
      // Not part of a reload: a worker started (or replaced one) and read the files as they are now.
      if (this.#awaiting.size === 0 && !this.agree) {
        this.#log.warn({ worker, workers: this.workers }, `worker ${String(worker)} started with rules another worker does not answer with (the files changed since that one loaded them): send SIGHUP so that every worker reloads`);
      }
      return;
    }
    if (report.outcome === 'refused') this.#refused.add(worker);
    if (this.#awaiting.delete(worker)) this.#completeReload();
  }

  /**
   * A worker ended: it no longer answers, and no report is awaited from it.
   * @param worker - the worker's id.
   */
  exited(worker: number): void {
    this.#packs.delete(worker);
    this.#refused.delete(worker);
    if (this.#awaiting.delete(worker)) this.#completeReload();
  }

  #completeReload(): void {
    if (this.#awaiting.size > 0) return;
    const refused = [...this.#refused].sort((a, b) => a - b);
    this.#refused.clear();
    const workers = this.workers;
    if (this.agree) {
      const n = String(workers.length);
      const said = refused.length > 0 && refused.length === workers.length ? `none could use the files; all ${n} still answer with the same rules` : `all ${n} answer with the same rules`;
      this.#log.info({ packs: workers[0]?.packs, workers: workers.length, refused }, `rules reload reached every worker: ${said}`);
      return;
    }
    this.#log.warn(
      { workers, refused },
      'rules reload reached every worker, and they answer with different rules (the files changed between their reloads, or some could not use them, see their lines): correct the files and send SIGHUP again'
    );
  }
}

/**
 * The rules the service answers with, and their reload (SIGHUP, see main.ts): the rules folder and THRESHOLDS_FILE
 * are read and checked again as at start; when they pass, calls that arrive from then on are answered with them
 * (calls under way finish with the rules they began with); when they do not, the service goes on with what it had
 * and the log says why. A change to a rule or a pack that kept its version is refused (rules-changes.ts).
 */
import type { RulePack } from '../engine/pack-types.js';
import type { HookPipeline } from '../hooks/handle-hook.js';
import type { Logger } from '../log.js';
import type { LoadedPipeline } from '../pipeline.js';
import { reportThresholdOverrides } from '../pipeline.js';
import { rulesChanges } from './rules-changes.js';
import type { RulesState } from './rules-changes.js';

/** One loaded set of rules, as a call is answered with it. */
export interface AnsweringRules {
  readonly pipeline: HookPipeline;
  readonly packs: readonly RulePack[];
  /**
   * The packs as the request log and the audit log name them: `id@version`, comma-separated, each followed by the
   * thresholds this deployment set (THRESHOLDS_FILE) in brackets, separated by semicolons,
   * `intrathecal@1.35.0[morphineMaxDailyMg=12;ziconotideMaxDailyMcg=19.2]`, so a call's record says what it was
   * compared against.
   */
  readonly label: string;
}

/** What a reload did: `reloaded` (calls are answered with the new rules), `unchanged`, or `refused` (and why). */
export interface ReloadOutcome {
  readonly outcome: 'reloaded' | 'unchanged' | 'refused';
  /** The packs answering after it. */
  readonly label: string;
  readonly changes: readonly string[];
  /** Why it was refused: the file and the problem, or the changes that kept their version. */
  readonly problems: readonly string[];
}

function labelOf(pack: RulePack): string {
  const set = [...pack.thresholds.values()].filter((t) => t.overridden).map((t) => `${t.id}=${String(t.value)}`).sort();
  return `${pack.id}@${pack.version}${set.length > 0 ? `[${set.join(';')}]` : ''}`;
}

function answering(loaded: LoadedPipeline): AnsweringRules {
  return { ...loaded, label: loaded.packs.map(labelOf).join(',') };
}

function stateOf(rules: AnsweringRules): RulesState {
  return { packs: rules.packs, services: [...rules.pipeline.services.values()] };
}

/** The current rules and their reload. */
export class CurrentRules {
  #current: AnsweringRules;
  /** Every service id the process has answered with, current or since reloaded away. */
  readonly #served = new Set<string>();
  readonly #load: () => LoadedPipeline;
  readonly #log: Pick<Logger, 'info' | 'warn' | 'error'>;

  /**
   * Loads the rules a first time (a problem then stops the start: it is thrown).
   * @param load - reads and checks the rules folder and THRESHOLDS_FILE (pipeline.ts loadPipeline).
   * @param log - where reloads are reported.
   */
  constructor(load: () => LoadedPipeline, log: Pick<Logger, 'info' | 'warn' | 'error'>) {
    this.#load = load;
    this.#log = log;
    this.#current = answering(load());
    this.#noteServices();
    reportThresholdOverrides(this.#current.packs, log);
  }

  #noteServices(): void {
    for (const id of this.#current.pipeline.services.keys()) this.#served.add(id);
  }

  /**
   * Whether this process has answered calls to a service, with the current rules or with rules since reloaded: a
   * card's feedback may come after a reload removed the service that gave it.
   * @param id - the service id.
   * @returns true when it has.
   */
  hasServed(id: string): boolean {
    return this.#served.has(id);
  }

  /** The rules a call arriving now is answered with. */
  get current(): AnsweringRules {
    return this.#current;
  }

  /**
   * Reads and checks the rules again and answers with them from now on, unless they cannot be used.
   * @returns what happened; the log says it too.
   */
  reload(): ReloadOutcome {
    const before = this.#current;
    const started = performance.now();
    // How long the process was held (calls wait meanwhile): the log says it.
    const ms = (): number => Math.round(performance.now() - started);
    let loaded: LoadedPipeline;
    try {
      loaded = this.#load();
    } catch (err) {
      return this.#refused([(err as Error).message], ms());
    }
    const next = answering(loaded);
    const { changes, refused, thresholdsChanged } = rulesChanges(stateOf(before), stateOf(next));
    if (refused.length > 0) return this.#refused(refused, ms());
    if (changes.length === 0) {
      this.#log.info({ packs: before.label, ms: ms() }, 'rules reloaded: nothing changed');
      return { outcome: 'unchanged', label: before.label, changes, problems: [] };
    }
    this.#current = next;
    this.#noteServices();
    this.#log.info({ packs: next.label, changes, ms: ms() }, 'rules reloaded: calls arriving from now on are answered with them');
    // The thresholds this deployment sets, said again when they are among the changes (as at start).
    if (thresholdsChanged) reportThresholdOverrides(next.packs, this.#log);
    return { outcome: 'reloaded', label: next.label, changes, problems: [] };
  }

  #refused(problems: readonly string[], ms: number): ReloadOutcome {
    const label = this.#current.label;
    this.#log.error({ problems, packs: label, ms }, `rules not reloaded; still answering with ${label}`);
    return { outcome: 'refused', label, changes: [], problems };
  }
}

/**
 * The audit spool: where the audit writers keep the records their store did not take (PostgreSQL: an outage longer
 * than the retries, or the in-memory queue full; the SQLite file: locked, full or failing past the retries), on this
 * machine's disk, until the store takes them. Da Vinci CRD asks a payer service to retain every hook invocation;
 * before, such records were logged as not written and lost.
 *
 * - Each process appends to its own file, `audit-spool-<host>_<pid>.jsonl` (one record per line, fsynced), created
 *   readable by its owner only: the records hold patient data, as the audit log does. The host name is in it because a
 *   process id is unique on one machine only: containers that share a folder are all process 1.
 * - A drain claims a file by renaming it (`audit-spool-claimed-<host>_<pid>-<n>.jsonl`; the rename is atomic, so two
 *   processes never drain one file), writes its records to the database in order, a chunk at a time, and removes it.
 *   A chunk that fails leaves the rest in the file, the written ones taken out, for the next drain: nothing twice.
 * - A drain may pause between chunks (new calls' records wait): it goes on from the same line at the next drain, and
 *   `close()` takes the lines written out of the file, so that the next process does not write them again.
 * - A process drains its own files, and those of this host's processes that have ended (a previous run, a worker that
 *   died); a copy a rewrite left unfinished (`.rest`, its process ended mid-way) is removed, the claimed file being
 *   whole. Another host's files are left (whether their process runs cannot be known from here) and named in the log
 *   once; a process started with that host name (AUDIT_SPOOL_HOST) drains them. A name without a host (written
 *   before host names were in the names) is this host's.
 * - The spool holds at most `maxBytes`; past it a record is not kept and its request id is logged as not written.
 */
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../log.js';
import type { InvocationRecord } from '../store/audit-store.js';

// The host (group 1, absent in names written before hosts were named) and the process id (group 2).
const APPENDING = /^audit-spool-(?:([a-z0-9.-]+)_)?(\d+)\.jsonl$/;
const CLAIMED = /^audit-spool-claimed-(?:([a-z0-9.-]+)_)?(\d+)-\d+\.jsonl$/;
const REST = /^audit-spool-claimed-(?:([a-z0-9.-]+)_)?(\d+)-\d+\.jsonl\.rest$/;

/**
 * A host name as the spool's file names hold it: lower case, with only letters, digits, dots and hyphens (anything
 * else becomes a hyphen), so that it cannot be read as another part of a name.
 * @param name - a host name (os.hostname(), AUDIT_SPOOL_HOST).
 * @returns the name in files; `localhost` for an empty one.
 */
export function spoolHostName(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'localhost';
}

/** Records written to the database per chunk of a drain. */
const CHUNK = 200;

/** One record as a line: its time as text, a body received as bytes in base64. */
function toLine(record: InvocationRecord): string {
  const { receivedAt, request, ...rest } = record;
  const body = request instanceof Uint8Array ? { requestBase64: Buffer.from(request).toString('base64') } : request === undefined ? {} : { request };
  return `${JSON.stringify({ ...rest, receivedAt: receivedAt.toISOString(), ...body })}\n`;
}

/**
 * A spooled line back as the record it was.
 * @param line - one line of a spool file.
 * @returns the record.
 */
export function fromLine(line: string): InvocationRecord {
  const { receivedAt, requestBase64, ...rest } = JSON.parse(line) as Record<string, unknown> & { receivedAt: string; requestBase64?: string };
  return { ...(rest as unknown as InvocationRecord), receivedAt: new Date(receivedAt), ...(requestBase64 !== undefined ? { request: new Uint8Array(Buffer.from(requestBase64, 'base64')) } : {}) };
}

/** Whether a process is running (one of another user still is: EPERM). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The spool of one process. */
export class AuditSpool {
  readonly #dir: string;
  readonly #own: string;
  readonly #host: string;
  /** Whether the log has named the other hosts' files (once per process). */
  #toldOfOthers = false;
  readonly #maxBytes: number;
  readonly #log: Pick<Logger, 'warn' | 'error'>;
  #claims = 0;
  /** Claimed files whose drain paused, and the byte offset it goes on from. */
  readonly #paused = new Map<string, number>();
  /** Whether this process may have something to drain (its own records, or an ended process's, looked for at start). */
  #pending = true;

  /**
   * @param dir - the spool folder (created when first needed, readable by its owner only).
   * @param maxBytes - the most the spool files may hold together.
   * @param log - where a failure to keep records is reported.
   * @param host - the name of this machine in the file names (AUDIT_SPOOL_HOST; by default its host name).
   */
  constructor(dir: string, maxBytes: number, log: Pick<Logger, 'warn' | 'error'>, host?: string) {
    this.#dir = dir;
    this.#host = spoolHostName(host ?? hostname());
    this.#own = join(dir, `audit-spool-${this.#host}_${String(process.pid)}.jsonl`);
    this.#maxBytes = maxBytes;
    this.#log = log;
  }

  /** Whether a drain may find records. */
  get pending(): boolean {
    return this.#pending;
  }

  #files(): string[] {
    try {
      return readdirSync(this.#dir);
    } catch {
      return [];
    }
  }

  /**
   * The bytes of the spool files together (this process's and others' in the folder), as they take up the disk, or
   * of the records waiting in them (without the lines of a paused drain's file already written).
   */
  #sum(waitingOnly: boolean): number {
    return this.#files().filter((f) => APPENDING.test(f) || CLAIMED.test(f)).reduce((sum, f) => {
      const path = join(this.#dir, f);
      try {
        return sum + statSync(path).size - (waitingOnly ? (this.#paused.get(path) ?? 0) : 0);
      } catch {
        return sum;
      }
    }, 0);
  }

  /** The bytes of the records waiting in the spool files (this process's and others' in the folder). */
  bytes(): number {
    return this.#sum(true);
  }

  /**
   * Keeps records on disk (appended and fsynced before it returns).
   * @param records - what the database did not take.
   * @returns whether they are kept; when not (the spool full, the disk refusing), the caller logs them as lost.
   */
  append(records: readonly InvocationRecord[]): boolean {
    if (records.length === 0) return true;
    const text = records.map(toLine).join('');
    try {
      if (this.#sum(false) + Buffer.byteLength(text) > this.#maxBytes) {
        this.#log.error({ maxBytes: this.#maxBytes }, 'audit spool full: records the database did not take can no longer be kept');
        return false;
      }
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      const fd = openSync(this.#own, 'a', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      this.#log.error({ err: { message: (err as Error).message } }, 'audit spool: records could not be kept on disk');
      return false;
    }
    this.#pending = true;
    return true;
  }

  /** Whether a name's host is this one (a name without a host was written on this machine). */
  #mine(match: RegExpExecArray): boolean {
    return match[1] === undefined || match[1] === this.#host;
  }

  /**
   * A name for a file this process claims that no file has: an earlier run with the same process id (a container's
   * process 1 after a restart) may have left claimed files, which a rename onto their name would replace.
   */
  #claimedName(): string {
    for (;;) {
      const to = join(this.#dir, `audit-spool-claimed-${this.#host}_${String(process.pid)}-${String(this.#claims++)}.jsonl`);
      if (!existsSync(to)) return to;
    }
  }

  /** The files this process drains, claimed: its own, and those of this host's processes that have ended. */
  #claim(): string[] {
    const claimed: string[] = [];
    const others = new Set<string>();
    for (const name of this.#files()) {
      const match = REST.exec(name) ?? APPENDING.exec(name) ?? CLAIMED.exec(name);
      if (!match) continue;
      if (!this.#mine(match)) {
        others.add(match[1] as string);
        continue;
      }
      const pid = Number(match[2]);
      // A rewrite a process did not finish (it ended mid-way): its claimed file is still whole, so the copy goes.
      if (name.endsWith('.rest')) {
        if (pid === process.pid || !running(pid)) rmSync(join(this.#dir, name), { force: true });
        continue;
      }
      if (pid !== process.pid && running(pid)) continue;
      const held = name.startsWith('audit-spool-claimed-');
      if (held && pid === process.pid) {
        claimed.push(join(this.#dir, name));
        continue;
      }
      const to = this.#claimedName();
      try {
        renameSync(join(this.#dir, name), to);
        claimed.push(to);
      } catch {
        // Another process claimed it first.
      }
    }
    if (others.size > 0 && !this.#toldOfOthers) {
      this.#toldOfOthers = true;
      this.#log.warn({ hosts: [...others].sort() }, 'audit spool: records of other hosts wait in the folder; they are written by a process of that host (a host gone for good: start one process with AUDIT_SPOOL_HOST set to its name)');
    }
    // Oldest first: by process, then by the order this process claimed them (numbers, not text: 10 after 9).
    return claimed.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /**
   * Writes the spooled records to the database, oldest file first, and removes what it took.
   * @param write - writes one chunk of records (the store's batch insert); throws when the database refuses it.
   * @param yieldWhen - asked after each chunk: true pauses the drain there (new calls' records wait to be written,
   *   and an audit read waits for them), to go on from the same line at the next drain.
   * @returns how many records were written; stops at the first chunk refused (the rest stays for the next drain).
   */
  async drain(write: (records: InvocationRecord[]) => Promise<void>, yieldWhen: () => boolean = () => false): Promise<number> {
    let written = 0;
    for (const file of this.#claim()) {
      const taken = await this.#drainFile(file, write, yieldWhen);
      written += taken.written;
      if (!taken.done) return written;
    }
    this.#pending = false;
    return written;
  }

  /**
   * Takes the lines a paused drain wrote out of their files, so that the next process does not write them again
   * (a paused drain otherwise keeps its place in memory only). Called when the writer closes.
   */
  close(): void {
    for (const [file, offset] of this.#paused) {
      try {
        this.#keepFrom(file, offset);
      } catch (err) {
        this.#log.error({ err: { message: (err as Error).message } }, 'audit spool: a paused drain could not keep its place; the next drain writes some records twice');
      }
    }
    this.#paused.clear();
  }

  async #drainFile(file: string, write: (records: InvocationRecord[]) => Promise<void>, yieldWhen: () => boolean): Promise<{ written: number; done: boolean }> {
    let written = 0;
    // The byte offset of the first line not yet written (where a paused drain of this file stopped).
    let offset = this.#paused.get(file) ?? 0;
    this.#paused.delete(file);
    let chunk: InvocationRecord[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length > 0) await write(chunk);
      written += chunk.length;
      offset += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    try {
      const input = createReadStream(file, { start: offset });
      const lines = createInterface({ input, crlfDelay: Infinity });
      for await (const line of lines) {
        const bytes = Buffer.byteLength(line) + 1;
        if (line.trim() !== '') chunk.push(fromLine(line));
        chunkBytes += bytes;
        if (chunk.length < CHUNK) continue;
        await flush();
        if (yieldWhen()) {
          lines.close();
          input.destroy();
          this.#paused.set(file, offset);
          return { written, done: false };
        }
      }
      await flush();
    } catch (err) {
      this.#keepFrom(file, offset);
      this.#log.warn({ written, err: { message: (err as Error).message } }, 'audit spool: the database did not take the spooled records; kept for the next try');
      return { written, done: false };
    }
    rmSync(file, { force: true });
    return { written, done: true };
  }

  /** Takes the lines already written out of a claimed file, so that the next drain does not write them twice. */
  #keepFrom(file: string, offset: number): void {
    if (offset === 0) return;
    const rest = `${file}.rest`;
    const out = openSync(rest, 'w', 0o600);
    try {
      const fd = openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(1 << 20);
        for (let at = offset; ; ) {
          const n = readSync(fd, buffer, 0, buffer.length, at);
          if (n === 0) break;
          writeSync(out, buffer, 0, n);
          at += n;
        }
      } finally {
        closeSync(fd);
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    renameSync(rest, file);
  }
}

/**
 * Keeps records a store did not take in the spool, or logs them as not written when there is none or it is full.
 * @param spool - the spool, if any.
 * @param records - the records.
 * @param why - the store's fault (its message names the fault, never the data).
 * @param store - what did not take them, for the log ('the database', 'the audit file').
 * @param log - where it is said.
 * @returns how many records were lost (0 when kept).
 */
export function keepOrLose(spool: AuditSpool | undefined, records: readonly InvocationRecord[], why: string, store: string, log: Pick<Logger, 'warn' | 'error'>): number {
  const requestIds = records.map((e) => e.requestId);
  if (spool?.append(records)) {
    log.warn({ requestIds, err: { message: why } }, `audit records kept in the spool: ${store} did not take them; they are written when it does`);
    return 0;
  }
  log.error({ requestIds, err: { message: why } }, 'audit record not written');
  return records.length;
}

/**
 * The log's backlog is bounded: when nothing reads stdout, the process keeps at most LOG_BUFFER_BYTES of log in
 * memory and drops the rest, and says how many lines it dropped once stdout is read again. A real child process
 * writes to a real pipe that the test leaves unread.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MAX_BUFFER = 256 * 1024;
const LINES = 40_000;

describe('the log on stdout', () => {
  it('drops and counts lines beyond its bound while stdout is not read, instead of holding them', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/log-flood.ts', String(MAX_BUFFER), String(LINES)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const stdout = child.stdout;
    if (!stdout) throw new Error('the child has no stdout pipe');
    stdout.pause();
    const written = await new Promise<number>((resolve) => child.once('message', (m: { written: number }) => resolve(m.written)));
    expect(written).toBe(LINES);
    // Now read, as a collector that recovers would, until the warning about the dropped lines arrives.
    let text = '';
    const warning = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no warning after ${text.length} bytes`)), 15_000);
      stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const found = text.split('\n').find((l) => l.includes('log lines dropped'));
        if (found) {
          clearTimeout(timer);
          resolve(JSON.parse(found) as Record<string, unknown>);
        }
      });
      stdout.resume();
    });
    child.send('exit');
    await new Promise((resolve) => child.once('exit', resolve));
    const flood = text.split('\n').filter((l) => l.includes('"flood"'));
    const bytesPerLine = Buffer.byteLength(flood[0] ?? '') + 1;
    // What reached the pipe is what the pipe held (64 KB on Linux; 1 MB allowed) plus at most the bound.
    expect(flood.length * bytesPerLine).toBeLessThanOrEqual(MAX_BUFFER + 1024 * 1024);
    expect(flood.length).toBeGreaterThan(0);
    expect(warning).toMatchObject({ level: 40, dropped: LINES - flood.length, maxBufferBytes: MAX_BUFFER });
    // What is kept is whole lines, in the order they were logged.
    const numbers = flood.map((l) => (JSON.parse(l) as { line: number }).line);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  }, 30_000);
});

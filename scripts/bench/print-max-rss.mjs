// Preloaded (`node --import`) into a process a bench runs: says its peak resident memory (KB) on stderr at exit.
process.on('exit', () => process.stderr.write(`maxRSS ${String(process.resourceUsage().maxRSS)}\n`));

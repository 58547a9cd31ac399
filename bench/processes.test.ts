import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { pinHelperThreads, sampleProc } from './processes.js';

const allowed = (pid: number, tid: string): string => /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
const canPin = os.availableParallelism() >= 2 && ['/usr/bin/taskset', '/bin/taskset'].some((p) => fs.existsSync(p));

describe('the platform process on the benchmark cores', () => {
  it.skipIf(!canPin)('moves every thread but the main one to the helper core, once each, and measures the main thread apart', async () => {
    // A process with a busy worker thread besides its event loop.
    const child = spawn(process.execPath, ['-e', "const { Worker } = require('node:worker_threads'); new Worker('for (;;) {}', { eval: true }); setInterval(() => {}, 1000); console.log('up');"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const pid = child.pid!;
      const main = allowed(pid, String(pid));
      const moved = new Set<string>();
      pinHelperThreads(pid, '1', moved);
      const threads = fs.readdirSync(`/proc/${pid}/task`);
      expect(moved.size).toBe(threads.length - 1);
      expect(moved.has(String(pid))).toBe(false);
      for (const tid of moved) expect(allowed(pid, tid)).toBe('1');
      expect(allowed(pid, String(pid))).toBe(main);
      const a = sampleProc(pid);
      await new Promise((r) => setTimeout(r, 500));
      const b = sampleProc(pid);
      // The worker spins, the event loop idles: the process's CPU is the worker's.
      expect(b.cpuSeconds - a.cpuSeconds).toBeGreaterThan(0.2);
      expect(b.loopCpuSeconds - a.loopCpuSeconds).toBeLessThan(0.1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

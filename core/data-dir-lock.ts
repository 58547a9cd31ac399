/**
 * Which StreetWatch processes run on a data directory: each one that keeps its stores there
 * writes `streetwatch-<pid>.pid` (its host, start time and stages) when it starts and removes it
 * when it stops. A restore refuses a directory a live process still holds; a file left by a
 * process that died (same host, no such process) is stale and does not count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PID_FILE_RE = /^streetwatch-(\d+)\.pid$/;

export interface RunningProcess {
  pid: number;
  hostname: string;
  startedAt: number;
  stages: readonly string[];
}

/** Marks the data directory as used by this process; call the result to unmark it. */
export function markRunning(dataDir: string, stages: readonly string[]): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, `streetwatch-${process.pid}.pid`);
  const info: RunningProcess = { pid: process.pid, hostname: os.hostname(), startedAt: Date.now(), stages };
  fs.writeFileSync(file, `${JSON.stringify(info)}\n`);
  return () => fs.rmSync(file, { force: true });
}

/** Whether a file name is such a marker (backups leave them out). */
export function isRunningMarker(name: string): boolean {
  return PID_FILE_RE.test(name);
}

/** The live processes that hold the data directory (markers of dead ones on this host are removed). */
export function runningProcesses(dataDir: string): RunningProcess[] {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    return [];
  }
  const live: RunningProcess[] = [];
  for (const name of names.filter(isRunningMarker)) {
    const file = path.join(dataDir, name);
    let info: RunningProcess;
    try {
      info = JSON.parse(fs.readFileSync(file, 'utf8')) as RunningProcess;
    } catch {
      continue;
    }
    // Another host's process (a shared volume) cannot be checked: it counts as running.
    if (info.hostname !== os.hostname() || alive(info.pid)) live.push(info);
    else fs.rmSync(file, { force: true });
  }
  return live;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
